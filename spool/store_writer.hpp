// Group commit: one thread owns the writing connection; jobs posted while a
// commit is in flight are run together in the next transaction and share its
// fsync. A job's completion runs only after its transaction is durable (or
// with the error that stopped it), on the writer thread: callers post it back
// to their own executor. Checkpoints (copying the WAL into the database
// file) run after a batch's completions, not inside its commit.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "spool/result.hpp"
#include "spool/store.hpp"

namespace mailqd {

class StoreWriter {
public:
    // Runs inside the batch transaction, under its own savepoint. An error
    // return rolls back this job only.
    using Job = std::function<Status(Store&)>;
    // Called after the commit: ok, or the job's error, or the commit's error
    // (kind temporary when the disk is full).
    using Done = std::function<void(Status)>;

    static Result<std::unique_ptr<StoreWriter>> open(const std::filesystem::path& database,
                                                     std::size_t max_batch = 512);
    ~StoreWriter();  // finishes queued jobs, then joins

    // Thread-safe. done may be empty; it must not throw. Posting from a
    // Done (on the writer thread) is allowed. Both run and are destroyed on
    // the writer thread; the job is destroyed before done is called, so a
    // Done that hands control back to another thread must give away what
    // it captured (move it into what it posts), not keep a copy.
    void post(Job job, Done done);

    // Counters for benchmarks and stats.
    std::uint64_t commits() const;
    std::uint64_t jobs() const;
    std::uint64_t checkpoints() const;

    // Store faults since the writer started (see StoreFaults).
    StoreFaults faults() const;

    // WAL size (frames) from which the writer checkpoints, as SQLite's
    // automatic checkpoint would.
    static constexpr int checkpoint_frames = 1000;

private:
    StoreWriter(std::unique_ptr<Store> store, std::filesystem::path database, std::size_t max_batch);
    struct Item {
        Job job;
        Done done;
    };
    void run();
    void gather(std::unique_lock<std::mutex>& lock);
    void after_commits();
    Status writable_store();
    void count_faults(const std::vector<Status>& outcomes);
    std::size_t run_transaction(std::vector<Item>& batch, std::size_t first, std::vector<Status>& outcomes,
                                std::size_t& commits);

    std::unique_ptr<Store> store_;
    std::filesystem::path database_;
    std::size_t max_batch_;
    // Writer thread only:
    std::chrono::steady_clock::time_point last_reopen_{};
    int wal_frames_ = 0;  // frames in the WAL after the last commit
    std::size_t last_batch_ = 0;
    std::chrono::steady_clock::duration last_commit_time_{};
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<Item> pending_;
    bool stopping_ = false;
    std::uint64_t commits_ = 0, jobs_ = 0, checkpoints_ = 0;
    StoreFaults faults_;
    std::thread thread_;
};

}  // namespace mailqd
