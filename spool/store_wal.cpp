// The store's WAL upkeep (see store.hpp): a commit observer in place of
// SQLite's automatic checkpoint, and explicit checkpoints. The automatic one
// runs inside COMMIT, after the WAL fsync, on the committing thread: every
// thousand pages one batch of accepts waited for a whole checkpoint (writing
// the pages back and an fsync of the database file, several ms) before its
// clients got their 250. The StoreWriter checkpoints after the batch's
// completions instead (store_writer.cpp).
#include <sqlite3.h>

#include "spool/store.hpp"
#include "spool/store_sql.hpp"

namespace mailqd {

namespace {

int call_observer(void* observer, sqlite3*, const char*, int frames)
{
    (*static_cast<std::function<void(int)>*>(observer))(frames);
    return SQLITE_OK;
}

}  // namespace

void Store::on_wal_commit(std::function<void(int frames)> observer)
{
    wal_observer_ = std::move(observer);
    // sqlite3_wal_hook replaces the automatic checkpoint's own hook.
    if (wal_observer_)
        sqlite3_wal_hook(db_, call_observer, &wal_observer_);
    else
        sqlite3_wal_autocheckpoint(db_, 1000);  // SQLite's default
}

Result<Store::WalCheckpoint> Store::checkpoint()
{
    WalCheckpoint out;
    const int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &out.wal_frames,
                                             &out.checkpointed);
    // BUSY: another connection is checkpointing; it does the work.
    if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY) return sqlite_error(db_, rc, "checkpoint");
    return out;
}

}  // namespace mailqd
