// Group commit (see store_writer.hpp). The writer thread takes every job
// posted so far (up to max_batch), runs them in one transaction, each under a
// savepoint, commits once and only then calls their completions. Jobs posted
// while that commit fsyncs wait for the next batch, so the batch grows with
// the load and the cost of an fsync is shared.
//
// Checkpoints: SQLite's automatic checkpoint runs inside COMMIT, after the
// WAL fsync: every thousand frames, the batch that crossed the line waited
// for the whole checkpoint (its pages written back and the database file
// fsynced, several ms) before its completions ran. Here the writer
// checkpoints after the completions, so no acknowledgement waits for it;
// jobs posted meanwhile make the next batch bigger.
#include "spool/store_writer.hpp"

#include <algorithm>
#include <chrono>
#include <exception>

namespace mailqd {

namespace {

Status run_job(const StoreWriter::Job& job, Store& store)
{
    // The writer thread must outlive a job that throws; its caller gets the
    // exception as an error like any other.
    try {
        return job(store);
    } catch (const std::exception& e) {
        return make_error(ErrorKind::failure, std::string("store job: ") + e.what());
    }
}

}  // namespace

Result<std::unique_ptr<StoreWriter>> StoreWriter::open(const std::filesystem::path& database,
                                                       std::size_t max_batch)
{
    auto store = Store::open(database);
    if (!store) return store.error();
    return std::unique_ptr<StoreWriter>(new StoreWriter(std::move(*store), database, max_batch));
}

StoreWriter::StoreWriter(std::unique_ptr<Store> store, std::filesystem::path database, std::size_t max_batch)
    : store_(std::move(store)), database_(std::move(database)), max_batch_(max_batch == 0 ? 1 : max_batch)
{
    // Called inside COMMIT on the writer thread; it also turns off the
    // automatic checkpoint that would run there.
    store_->on_wal_commit([this](int frames) { wal_frames_ = frames; });
    thread_ = std::thread([this] { run(); });
}

StoreWriter::~StoreWriter()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
}

void StoreWriter::post(Job job, Done done)
{
    {
        std::lock_guard lock(mutex_);
        pending_.push_back(Item{std::move(job), std::move(done)});
    }
    wake_.notify_one();
}

std::uint64_t StoreWriter::commits() const
{
    std::lock_guard lock(mutex_);
    return commits_;
}

std::uint64_t StoreWriter::jobs() const
{
    std::lock_guard lock(mutex_);
    return jobs_;
}

std::uint64_t StoreWriter::checkpoints() const
{
    std::lock_guard lock(mutex_);
    return checkpoints_;
}

StoreFaults StoreWriter::faults() const
{
    std::lock_guard lock(mutex_);
    return faults_;
}

// Before each batch: a connection that cannot write (the file was read-only
// when it was opened, or it was moved away) fails the batch with a
// temporary error instead of writing into a file nobody will read again,
// and is re-opened, at most every 250 ms, once the path holds a writable
// queue again. Never creates one: see Store::OpenMode.
Status StoreWriter::writable_store()
{
    auto fault = store_->write_fault();
    if (!fault) return {};
    const auto now = std::chrono::steady_clock::now();
    if (now - last_reopen_ >= std::chrono::milliseconds(250)) {
        last_reopen_ = now;
        auto fresh = Store::open(database_, Store::OpenMode::existing);
        if (fresh && !(*fresh)->write_fault()) {
            store_ = std::move(*fresh);
            store_->on_wal_commit([this](int frames) { wal_frames_ = frames; });
            wal_frames_ = 0;
            std::lock_guard lock(mutex_);
            ++faults_.reopens;
            return {};
        }
        if (!fresh) fault = *fault + "; re-opening it failed: " + fresh.error().message;
    }
    return make_error(ErrorKind::temporary, *fault);
}

// A job's own refusal (a bad message, an unknown ID) is not a fault.
void StoreWriter::count_faults(const std::vector<Status>& outcomes)
{
    std::lock_guard lock(mutex_);
    bool any_ok = false, any_fault = false;
    for (const auto& st : outcomes) {
        any_ok = any_ok || st.ok();
        if (st || (st.error().kind != ErrorKind::temporary && st.error().kind != ErrorKind::failure))
            continue;
        any_fault = true;
        ++faults_.errors;
        faults_.last_error = st.error().message;
        faults_.last_error_at = now_seconds();
    }
    if (any_ok)
        faults_.failing = false;
    else if (any_fault)
        faults_.failing = true;
}

void StoreWriter::run()
{
    for (;;) {
        std::vector<Item> batch;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
            if (pending_.empty()) return;  // stopping, and everything posted has been done
            gather(lock);
            const std::size_t n = std::min(pending_.size(), max_batch_);
            batch.assign(std::make_move_iterator(pending_.begin()),
                         std::make_move_iterator(pending_.begin() + static_cast<std::ptrdiff_t>(n)));
            pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
        }
        std::vector<Status> outcomes(batch.size());
        std::size_t commits = 0;
        const auto started = std::chrono::steady_clock::now();
        if (Status writable = writable_store(); !writable)
            std::fill(outcomes.begin(), outcomes.end(), writable);
        else
            for (std::size_t next = 0; next < batch.size();)
                next = run_transaction(batch, next, outcomes, commits);
        count_faults(outcomes);
        last_batch_ = batch.size();
        last_commit_time_ = std::chrono::steady_clock::now() - started;
        {
            std::lock_guard lock(mutex_);
            commits_ += commits;
            jobs_ += batch.size();
        }
        // Completions run only now, when every transaction of the batch is
        // durable or has failed. A job (and what it captured) is destroyed
        // here, on the writer thread, before its completion runs: once the
        // caller resumes, nothing of its job is left on this thread.
        for (std::size_t i = 0; i < batch.size(); ++i) {
            batch[i].job = nullptr;
            Done done = std::move(batch[i].done);
            if (done) done(std::move(outcomes[i]));
        }
        after_commits();
    }
}

// Group commit window: when fewer jobs wait than the last batch held, the
// submitters of that batch are most likely busy sending their next
// message; waiting for them (at most half as long as the last commit took,
// and never more than a millisecond) lets them share the next fsync instead
// of each half of them paying for one. A lone submitter never waits: its
// last batch was 1.
void StoreWriter::gather(std::unique_lock<std::mutex>& lock)
{
    const std::size_t wanted = std::min(last_batch_, max_batch_);
    if (pending_.size() >= wanted || stopping_) return;
    const auto window =
        std::min<std::chrono::steady_clock::duration>(last_commit_time_ / 2, std::chrono::milliseconds(1));
    wake_.wait_for(lock, window, [&] { return stopping_ || pending_.size() >= wanted; });
}

// Writer thread, after a batch's completions went out. Readers are not
// waited for; what they still use is copied by a later checkpoint.
// A failure (a full disk) leaves the frames in the WAL, where they are
// durable; the next batch tries again.
void StoreWriter::after_commits()
{
    if (wal_frames_ < checkpoint_frames) return;
    auto done = store_->checkpoint();
    if (done && done->checkpointed == done->wal_frames)
        wal_frames_ = 0;  // the next commit starts the WAL over
    std::lock_guard lock(mutex_);
    ++checkpoints_;
}

// Runs batch[first...] in one transaction and fills their outcomes. Returns
// where the next transaction must start: the end of the batch, or just past
// a job whose error made SQLite roll the whole transaction back (a full
// disk): the jobs before it are lost with it and told so, the rest are tried
// again in a fresh transaction.
std::size_t StoreWriter::run_transaction(std::vector<Item>& batch, std::size_t first,
                                         std::vector<Status>& outcomes, std::size_t& commits)
{
    Store& store = *store_;
    if (auto st = store.begin(); !st) {
        for (std::size_t i = first; i < batch.size(); ++i) outcomes[i] = st;
        return batch.size();
    }
    for (std::size_t i = first; i < batch.size(); ++i) {
        Status st = store.savepoint();
        if (st) {
            st = run_job(batch[i].job, store);
            if (st)
                st = store.release_savepoint();
            else
                store.rollback_to_savepoint();
        }
        outcomes[i] = st;
        if (!store.in_transaction()) {
            const Error lost = make_error(ErrorKind::temporary,
                                          "queue database: transaction rolled back: " +
                                              (st ? std::string("unknown reason") : st.error().message));
            for (std::size_t j = first; j <= i; ++j)
                if (outcomes[j]) outcomes[j] = lost;
            return i + 1;
        }
    }
    if (auto st = store.commit(); !st) {
        store.rollback();
        const Error failed = make_error(ErrorKind::temporary, st.error().message);
        for (std::size_t i = first; i < batch.size(); ++i)
            if (outcomes[i]) outcomes[i] = failed;
        return batch.size();
    }
    ++commits;
    return batch.size();
}

}  // namespace mailqd
