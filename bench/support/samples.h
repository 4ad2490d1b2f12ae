// Summaries of repeated measurements: the median is the figure, min and max show the spread.
#pragma once

#include <cstddef>
#include <vector>

namespace ltxvfs::bench {

struct Summary {
  size_t runs = 0;
  double median = 0;
  double min = 0;
  double max = 0;
};

// Summary of `values` (at least one).
Summary summarize(std::vector<double> values);

// The `p`-th percentile (0..100) of `values` by the nearest-rank method (at least one value):
// the smallest value with at least p% of the values at or below it.
double percentile(std::vector<double> values, double p);

}  // namespace ltxvfs::bench
