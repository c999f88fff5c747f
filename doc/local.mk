# Man pages of the foundation (block-vd(8) and vdloader(1) live in their owners' fragments).
dist_man_MANS += doc/xl-vd.1 doc/xenvd.conf.5
