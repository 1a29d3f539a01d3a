#include "spool/maildir_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

namespace mailqd {
namespace {

// Process-wide, so two writers in one process never pick the same name.
std::atomic<std::uint64_t> delivery_counter{0};

constexpr std::size_t kSyncThreads = 32;
// Open descriptors per round, well under the usual limit of 1024.
constexpr std::size_t kFilesPerRound = 256;

Error io_error(const std::string& what, int err)
{
    return make_error(err == ENOSPC || err == EDQUOT ? ErrorKind::temporary : ErrorKind::io,
                      what + ": " + std::strerror(err));
}

Status make_dir(const std::filesystem::path& dir)
{
    if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) {
        struct stat st {};
        if (::stat(dir.c_str(), &st) != 0) return io_error(dir.string(), errno);
        if (!S_ISDIR(st.st_mode)) return make_error(ErrorKind::io, dir.string() + ": not a directory");
        return {};
    }
    return io_error("mkdir " + dir.string(), errno);
}

Status fsync_path(const std::filesystem::path& dir)
{
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return io_error("open " + dir.string(), errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return io_error("fsync " + dir.string(), err);
    return {};
}

// Returns 0 or the errno of the failed write.
int write_all(int fd, std::string_view data)
{
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return 0;
}

// Creates tmp/NAME exclusively and writes it; returns the open descriptor
// (to be fsynced) or -errno. Removes the file on failure.
int write_tmp_file(const std::filesystem::path& file, std::string_view message)
{
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return -errno;
    int err = write_all(fd, message);
    if (err != 0) {
        ::close(fd);
        ::unlink(file.c_str());
        return -err;
    }
#ifdef SYNC_FILE_RANGE_WRITE
    // Start writeback now, so the fsyncs that follow find the data on its
    // way (a hint only: durability still comes from fsync).
    ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
    return fd;
}

// fsyncs and closes every descriptor; returns 0 or the first errno. The
// fsyncs run on a few threads at once: the file system commits concurrent
// fsyncs together (one journal commit for many files), which is what makes
// "every message fsynced" cost a fraction of one sync each.
int fsync_and_close_all(const std::vector<int>& fds)
{
    std::atomic<std::size_t> next{0};
    std::atomic<int> first_error{0};
    auto work = [&] {
        for (std::size_t i = next++; i < fds.size(); i = next++) {
            int err = ::fsync(fds[i]) == 0 ? 0 : errno;
            if (::close(fds[i]) != 0 && err == 0) err = errno;
            int expected = 0;
            if (err != 0) first_error.compare_exchange_strong(expected, err);
        }
    };
    const std::size_t threads = std::min<std::size_t>(kSyncThreads, (fds.size() + 1) / 2);
    std::vector<std::thread> pool;
    for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    return first_error.load();
}

std::string local_host_name()
{
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
    return buf;
}

}  // namespace

std::string maildir_safe_host(std::string_view host)
{
    std::string out;
    for (char c : host) {
        if (c == '/')
            out += "\\057";
        else if (c == ':')
            out += "\\072";
        else if (c == ',')
            out += "\\054";
        else
            out += c;
    }
    return out;
}

std::uint64_t maildir_virtual_size(std::string_view message)
{
    std::uint64_t size = message.size();
    for (std::size_t i = 0; i < message.size(); ++i)
        if (message[i] == '\n' && (i == 0 || message[i - 1] != '\r')) ++size;
    return size;
}

MaildirWriter::MaildirWriter(std::filesystem::path root)
    : root_(std::move(root)), host_(maildir_safe_host(local_host_name()))
{
}

Result<MaildirWriter> MaildirWriter::open(const std::filesystem::path& maildir)
{
    if (maildir.empty()) return make_error(ErrorKind::config, "maildir: empty path");
    std::error_code ec;
    std::filesystem::create_directories(maildir, ec);
    if (ec) return make_error(ErrorKind::io, "mkdir " + maildir.string() + ": " + ec.message());
    for (const char* sub : {"cur", "new", "tmp"}) {
        Status made = make_dir(maildir / sub);
        if (!made) return made.error();
    }
    return MaildirWriter(maildir);
}

// "<sec>.M<usec>P<pid>Q<counter>.<host>,S=<size>,W=<vsize>": the modern
// Maildir unique name; the counter makes it unique within the process and
// the microseconds across restarts of a reused pid.
std::string MaildirWriter::unique_name(std::string_view message, std::string_view tag) const
{
    struct timeval tv {};
    ::gettimeofday(&tv, nullptr);
    const std::uint64_t q = delivery_counter.fetch_add(1, std::memory_order_relaxed);
    return std::to_string(tv.tv_sec) + ".M" + std::to_string(tv.tv_usec) + "P" + std::to_string(::getpid()) +
           "Q" + std::to_string(q) + (tag.empty() ? "" : "X" + std::string(tag)) + "." + host_ +
           ",S=" + std::to_string(message.size()) + ",W=" + std::to_string(maildir_virtual_size(message));
}

Result<std::vector<std::string>> MaildirWriter::deliver(const std::vector<std::string_view>& messages)
{
    return deliver(messages, {});
}

// "X<hex>." inside the unique part, before the host.
std::unordered_map<std::string, std::string> MaildirWriter::tagged_in_new() const
{
    std::unordered_map<std::string, std::string> found;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(root_ / "new", ec)) {
        const std::string name = entry.path().filename().string();
        const auto dot = name.find('.', name.find('.') + 1);  // the one before the host
        const auto x = name.rfind('X', dot);
        if (dot == std::string::npos || x == std::string::npos || x < name.find('Q')) continue;
        found.emplace(name.substr(x + 1, dot - x - 1), name);
    }
    return found;
}

Result<std::vector<std::string>> MaildirWriter::deliver(const std::vector<std::string_view>& messages,
                                                        const std::vector<std::string>& tags)
{
    std::vector<std::string> names;
    names.reserve(messages.size());
    const auto tmp = root_ / "tmp";
    const auto fresh = root_ / "new";
    auto undo = [&](std::size_t renamed) {
        for (std::size_t i = 0; i < names.size(); ++i)
            ::unlink(((i < renamed ? fresh : tmp) / names[i]).c_str());
    };
    auto fail = [&](const std::string& what, int err, std::size_t renamed) {
        undo(renamed);
        return io_error(what, err).context("maildir " + root_.string());
    };
    for (std::size_t first = 0; first < messages.size(); first += kFilesPerRound) {
        std::vector<int> fds;
        const std::size_t last = std::min(messages.size(), first + kFilesPerRound);
        int err = 0;
        for (std::size_t i = first; i < last && err == 0; ++i) {
            std::string name = unique_name(messages[i], i < tags.size() ? tags[i] : std::string());
            int fd = write_tmp_file(tmp / name, messages[i]);
            if (fd < 0)
                err = -fd;
            else {
                fds.push_back(fd);
                names.push_back(std::move(name));
            }
        }
        const int sync_err = fsync_and_close_all(fds);
        if (err != 0 || sync_err != 0) return fail("write " + tmp.string(), err != 0 ? err : sync_err, 0);
    }
    for (std::size_t i = 0; i < names.size(); ++i)
        if (::rename((tmp / names[i]).c_str(), (fresh / names[i]).c_str()) != 0)
            return fail("rename into " + fresh.string(), errno, i);
    if (!names.empty()) {
        Status synced = fsync_path(fresh);
        if (!synced) {
            undo(names.size());
            return synced.error().context("maildir " + root_.string());
        }
    }
    return names;
}

Result<std::string> MaildirWriter::deliver_one(std::string_view message)
{
    auto names = deliver({message});
    if (!names) return names.error();
    return std::move(names->front());
}

}  // namespace mailqd
