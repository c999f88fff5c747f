# The Debian package (debian/): `make deb` builds xenvd_$(VERSION)_$(arch).deb from this tree's
# `make dist` tarball, unpacked under deb-build/, so the source tree stays as it is. The package
# build skips the test suite (DEB_BUILD_OPTIONS=nocheck; `make check` runs it) unless
# DEB_BUILD_OPTIONS says otherwise: `make deb DEB_BUILD_OPTIONS=` runs it in the build.
#   make deb           the .deb in the build directory (its path is printed)
#   make deb-lint      the .deb, then lintian and systemd-analyze verify on it (CI runs this)
deb_files = debian/changelog debian/control debian/copyright debian/rules debian/source/format \
	debian/xenvd.install debian/xenvd.links debian/xenvd.lintian-overrides \
	debian/xenvd.README.Debian debian/xenvd.xenvd-gc.service debian/xenvd.xenvd-gc.timer \
	debian/xenvd.xenvd-recover.service debian/xenvd.xenvd-lockspace.service \
	debian/xenvd.xenvd-leased.service debian/local.mk
EXTRA_DIST += $(deb_files) doc/xenvd.conf

# the .deb's name, in a recipe
deb_file = xenvd_$(PACKAGE_VERSION)_`dpkg --print-architecture`.deb

.PHONY: deb deb-lint
deb:
	@v=`dpkg-parsechangelog -l $(srcdir)/debian/changelog -S Version` || exit 1; \
	if test "$$v" != "$(PACKAGE_VERSION)"; then \
		echo "make deb: debian/changelog is at $$v but configure.ac at $(PACKAGE_VERSION):" \
			"add a changelog entry (dch -v $(PACKAGE_VERSION))" >&2; exit 1; \
	fi
	$(MAKE) $(AM_MAKEFLAGS) dist-gzip >/dev/null
	rm -rf deb-build $(distdir)
	$(MKDIR_P) deb-build
	tar -xzf $(distdir).tar.gz -C deb-build
	rm -f $(distdir).tar.gz $(deb_file)
	@echo "make deb: dpkg-buildpackage -us -uc -b in deb-build/$(distdir) (log: deb-build/build.log)"
	@# none of this make's flags or command-line variables reach debian/rules (make e2e TESTS=...)
	@(cd deb-build/$(distdir) && unset MAKEFLAGS MFLAGS MAKELEVEL && \
		DEB_BUILD_OPTIONS="$${DEB_BUILD_OPTIONS-nocheck}" \
		dpkg-buildpackage -us -uc -b -Jauto) >deb-build/build.log 2>&1 || \
		{ tail -n 40 deb-build/build.log; \
		  echo "make deb: FAILED (log: deb-build/build.log)" >&2; exit 1; }
	mv deb-build/$(deb_file) .
	@echo "make deb: built $(abs_top_builddir)/$(deb_file)"
# lintian (errors fail; warnings are overridden with their reasons in
# debian/xenvd.lintian-overrides), then the unit files through systemd-analyze verify (with
# ExecStart pointed at the packaged xl-vd, which this host need not have installed).
deb-lint: deb
	lintian --fail-on error --info $(deb_file)
	rm -rf deb-build/unpacked deb-build/units && $(MKDIR_P) deb-build/units
	dpkg-deb -x $(deb_file) deb-build/unpacked
	for u in deb-build/unpacked/lib/systemd/system/*; do \
		sed 's|/usr/sbin/xl-vd|$(abs_top_builddir)/deb-build/unpacked/usr/sbin/xl-vd|' "$$u" \
			>deb-build/units/`basename "$$u"` || exit 1; \
	done
	systemd-analyze verify --man=no deb-build/units/*
	@echo "make deb-lint: $(deb_file): lintian clean (no errors), units verified"
CLEAN_DIRS += deb-build
CLEANFILES += xenvd_*.deb

# The sample configuration and the changelog agree with the code.
TESTS += tests/integration/packaging.sh
dist_check_SCRIPTS += tests/integration/packaging.sh
