// ltx_metrics(): every replicated database and read replica of this process in the Prometheus
// text exposition format (version 0.0.4), for scrapers and node_exporter's textfile collector.
// Each family is written once with every database's sample, as the format requires; label values
// are the database's path (writers), the name it was opened by (replicas) and the replica URL,
// which never holds a secret (credentials come from the environment).
#pragma once

#include <string>

#include "vfs/shim/open_databases.h"

namespace ltxvfs::extension {

std::string prometheus_text(const vfs::ProcessMetrics& m);

// A label value escaped as the format asks (backslash, double quote, newline).
std::string escape_label_value(const std::string& v);

}  // namespace ltxvfs::extension
