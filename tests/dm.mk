# Tests of the device-mapper / hotplug side.
UNIT_DM = tests/unit/test_dmtable tests/unit/test_diskspec
check_PROGRAMS += $(UNIT_DM)
TESTS += $(UNIT_DM)
tests_unit_test_dmtable_LDADD = $(XENVD_LIBS) $(CMOCKA_LIBS)
tests_unit_test_dmtable_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_diskspec_LDADD = $(XENVD_LIBS) $(XLUTIL_LIBS) $(XENLIGHT_LIBS) $(CMOCKA_LIBS)
tests_unit_test_diskspec_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
UNIT_DM_HOTPLUG = tests/unit/test_hotplug
check_PROGRAMS += $(UNIT_DM_HOTPLUG)
TESTS += $(UNIT_DM_HOTPLUG)
tests_unit_test_hotplug_LDADD = $(XENVD_LIBS) $(CMOCKA_LIBS)
tests_unit_test_hotplug_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
# Real device-mapper and loop devices: skips (77) without root or dm, runs in the test bed.
UNIT_DM_LIVE = tests/unit/test_dm_live
check_PROGRAMS += $(UNIT_DM_LIVE)
TESTS += $(UNIT_DM_LIVE)
tests_unit_test_dm_live_LDADD = $(XENVD_LIBS) $(CMOCKA_LIBS)
tests_unit_test_dm_live_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
# xs.c's pipelined batches against a xenstored stand-in on the real wire protocol.
UNIT_XS_WIRE = tests/unit/test_xs_wire
check_PROGRAMS += $(UNIT_XS_WIRE)
TESTS += $(UNIT_XS_WIRE)
tests_unit_test_xs_wire_LDADD = $(XENVD_LIBS) $(CMOCKA_LIBS) -lpthread
tests_unit_test_xs_wire_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
