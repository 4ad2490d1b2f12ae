# Read after SQLite's own Makefile (make -f Makefile -f testfixture.mk testfixture): compiles
# ltx_autoload.c into testfixture and calls it at the end of every sqlite3_initialize().
# LTX_TCL_DIR is this folder (set by build-testfixture.sh).
TESTFIXTURE_SRC += $(LTX_TCL_DIR)/ltx_autoload.c
TESTFIXTURE_FLAGS += -DSQLITE_EXTRA_INIT=ltx_test_autoload
testfixture$(TEXE): $(LTX_TCL_DIR)/ltx_autoload.c
