// LTX_METRICS_FILE: ltx_metrics() written to a file every LTX_METRICS_INTERVAL (default 15s), for
// node_exporter's textfile collector. Written to "<file>.tmp" and renamed over the file, so a
// scrape never reads half of it (the collector's own advice). A job on the process's scheduler:
// no thread of its own. A write that fails is logged once per kind of failure, and retried.
#pragma once

#include <string>

namespace ltxvfs::extension {

// Starts the job when LTX_METRICS_FILE is set (once per process; later calls do nothing).
// Returns false with `message` set when a setting is malformed (the extension then fails to load,
// naming the variable).
bool start_metrics_file_from_env(std::string& message);

}  // namespace ltxvfs::extension
