# Runs one SQLite test script the way tests/tcl/run.sh needs it:
#
#   testfixture harness.tcl /path/to/test/SCRIPT.test
#
# - Every connection opened through tester.tcl's `sqlite3` command is put in WAL mode
#   (`PRAGMA journal_mode=WAL`, through the `-dbconfig` hook that permutations.test uses), in both
#   runs: the baseline on `unix` and the run on `ltx`. The two runs then differ only by the VFS.
#   The error is ignored (a read-only or corrupt database may refuse): the test decides.
# - Whether ltx is used is decided outside, by ltx_autoload.c (compiled into testfixture) and the
#   environment; this file only reports, on the last line of output, which VFS was the default
#   at the end and which databases ltx replicated, so the runner can check the run proved
#   anything:
#       ltx-harness: default-vfs=ltx replicated=3
# - An uncaught Tcl error ends the script with "ltx-harness: aborted: <message>", the tests that
#   failed until then ("ltx-harness: failures so far: ...") and exit code 2 (testfixture would
#   print it to stderr and exit 1, like a failed test).

set ltx_harness_script [file normalize [lindex $argv 0]]
set argv [lrange $argv 1 end]
set argv0 $ltx_harness_script

set ::G(perm:dbconfig) {catch {$::dbhandle eval {PRAGMA journal_mode=WAL}}}

# ltx's background threads write and rename temporary files under <db>-ltx/ (spool records,
# uploads), so a script that copies a database with its `-ltx` directory while it is open
# (tester.tcl's db_save, which walcrash4.test calls after its first statements) can find a file
# gone between listing the directory and copying it: about 1 run in 10 aborted so. tester.tcl
# retries its file operations where other processes hold files (its Windows setting); do the
# same here, in both runs: 5 tries, 50 ms apart.
set ::G(file-retries) 5
set ::G(file-retry-delay) 50

# SQLite reports every I/O error through sqlite3_log with the system call and errno
# ("os_unix.c:41234: (9) read(/x/test.db) - Bad file descriptor"), which a failed test's
# "disk I/O error" does not say. Print those (a script that installs its own log callback
# replaces this one). ltx's own threads never call sqlite3_log, so the callback runs on SQLite's.
proc ltx_harness_log {code msg} {
  if {[string match SQLITE_IOERR* $code]} {
    puts "ltx-harness: sqlite3_log: $code $msg"
    flush stdout
  }
}
sqlite3_shutdown
test_sqlite3_log ltx_harness_log
sqlite3_initialize

proc ltx_harness_report {} {
  # Databases ltx replicated leave `<db>-ltx/` directories in the test directory (and in the
  # subdirectories some scripts create).
  set dirs [glob -nocomplain -types d *-ltx */*-ltx]
  set vfs [lindex [sqlite3_vfs_list] 0]
  puts "ltx-harness: default-vfs=$vfs replicated=[llength $dirs]"
  flush stdout
}

rename exit ltx_harness_real_exit
proc exit {{code 0}} {
  ltx_harness_report
  ltx_harness_real_exit $code
}

if {[catch {uplevel #0 [list source $ltx_harness_script]} msg]} {
  set info $::errorInfo
  puts "ltx-harness: aborted: [lindex [split $msg \n] 0]"
  # What tester.tcl would have printed at the end, so far.
  if {![catch {set_test_counter fail_list} failed]} {
    puts "ltx-harness: failures so far:[join [lsort -unique $failed] { }]"
  }
  puts $info
  exit 2
}
# Scripts end with finish_test, which exits; one that returns instead still gets its report.
exit 0
