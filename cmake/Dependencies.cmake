# Every dependency comes from a Debian package (see scripts/setup.sh). Nothing is vendored.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(CURL REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(LZ4 REQUIRED IMPORTED_TARGET liblz4)
# SQLite headers only for the extension; the library itself is linked by tests and tools (hosts),
# never by libltxvfs.so.
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
