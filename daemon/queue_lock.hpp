// One daemon per queue: an exclusive lock on a file beside the database,
// held for the daemon's life. SQLite would let two writers take turns on
// one queue.db, each delivering the other's mail.
#pragma once

#include <filesystem>

#include "spool/result.hpp"

namespace mailqd {

class QueueLock {
public:
    // Locks database + ".lock" (made 0600 if missing, never through a
    // link). Fails with a line naming the file when another process holds it.
    static Result<QueueLock> take(const std::filesystem::path& database);

    QueueLock(QueueLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    QueueLock& operator=(QueueLock&&) = delete;
    QueueLock(const QueueLock&) = delete;
    ~QueueLock();  // closing the descriptor releases the lock

private:
    explicit QueueLock(int fd) : fd_(fd) {}
    int fd_;
};

}  // namespace mailqd
