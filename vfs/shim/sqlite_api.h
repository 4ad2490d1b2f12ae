// Include this instead of <sqlite3.h> in every file of the extension: it routes every sqlite3_*
// call through the API table SQLite hands the extension at load time, so libltxvfs.so has no
// undefined sqlite3_ symbols and loads into any host, including statically linked ones.
#pragma once

#include <sqlite3ext.h>

SQLITE_EXTENSION_INIT3
