#include "vfs/shim/lent_db_files.h"

#include <algorithm>

namespace ltxvfs::vfs {

void LentDbFiles::lend(LentDbFile* file) {
  base::MutexLock lock(mu_);
  files_.push_back(file);
}

void LentDbFiles::take_back(LentDbFile* file) {
  base::MutexLock lock(mu_);  // with_any() holds it for the whole read
  files_.erase(std::remove(files_.begin(), files_.end(), file), files_.end());
}

DbFileLoan::DbFileLoan(std::shared_ptr<LentDbFiles> files, LentDbFile* file)
    : files_(std::move(files)), file_(file) {
  files_->lend(file_);
}

DbFileLoan::~DbFileLoan() {
  files_->take_back(file_);
}

}  // namespace ltxvfs::vfs
