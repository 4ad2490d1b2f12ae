#include "history/same_transactions.h"

#include <algorithm>

#include "ltx/decoder.h"
#include "ltx/error.h"

namespace ltxvfs::history {

bool same_transactions(const ltx::Source& a, const ltx::Source& b) {
  try {
    ltx::Decoder da(a), db(b);
    ltx::Header ha = da.header(), hb = db.header();
    ha.timestamp_ms = hb.timestamp_ms = 0;
    if (!(ha == hb)) return false;
    for (;;) {
      auto pa = da.next();
      auto pb = db.next();
      if (!pa || !pb) {
        return !pa && !pb && da.trailer().post_apply_checksum == db.trailer().post_apply_checksum;
      }
      if (pa->pgno != pb->pgno ||
          !std::equal(pa->data.begin(), pa->data.end(), pb->data.begin(), pb->data.end())) {
        return false;
      }
    }
  } catch (const ltx::LtxError&) {
    return false;  // does not decode: not the same
  }
}

}  // namespace ltxvfs::history
