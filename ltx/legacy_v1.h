// Recognises the legacy LTX v1 layout (LiteFS, Litestream before v0.5): the same 100-byte header,
// then 4-byte page headers with raw pages, a 4-byte zero terminator, no page index, and the
// 16-byte trailer. The current decoder refuses such files, but it should say so rather than report
// whatever garbage the v1 bytes look like under the current layout.
#pragma once

#include "ltx/header.h"
#include "ltx/source.h"

namespace ltxvfs::ltx {

// True only for an intact v1 file: the size fits the v1 walk exactly, the page numbers ascend,
// the terminator is zero and its v1 file checksum ((1<<63) | CRC of all bytes but the last 8)
// verifies. Costs one 4-byte read for any current-format file: there, the 4 bytes where v1 keeps
// its terminator are the low half of the index length, which is never zero.
bool is_legacy_v1(const Source& source, const Header& header);

}  // namespace ltxvfs::ltx
