#include "spool/maildir_writer.hpp"

#include <dirent.h>
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

constexpr int kDirectoryFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

// "maildir X: new is a symbolic link, refusing": the Maildir is set up in a
// way mailqd will not write to; an admin (or the mailbox's owner) must act.
Error refused(const std::filesystem::path& maildir, const std::string& why)
{
    return make_error(ErrorKind::config, "maildir " + maildir.string() + ": " + why + ", refusing");
}

// Why openat(dir, name, O_DIRECTORY|O_NOFOLLOW) failed with ENOTDIR or ELOOP:
// Linux answers ENOTDIR for a link too (even a dangling one) when O_DIRECTORY
// is given, ELOOP without it; so the name itself is asked.
std::string why_not_a_directory(int dir, const char* name)
{
    struct stat st {};
    if (::fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
        return "is a symbolic link";
    return "is not a directory";
}

// The configured path's last component, opened without following a link.
// The directories above it are created if missing and followed: where the
// Maildir lives is the admin's choice, what it is (the last component, which
// a home Maildir's owner can replace) is checked.
Result<UniqueFd> open_root(const std::filesystem::path& maildir)
{
    const std::filesystem::path path = maildir.has_filename() ? maildir : maildir.parent_path();  // "x/"
    const std::string name = path.filename().string();
    if (name.empty() || name == "." || name == "..")
        return make_error(ErrorKind::config, "maildir " + maildir.string() + ": does not name a directory");
    const std::filesystem::path parent = path.has_parent_path() ? path.parent_path() : ".";
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return make_error(ErrorKind::io, "mkdir " + parent.string() + ": " + ec.message());
    UniqueFd above(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!above) return io_error("open " + parent.string(), errno);
    if (::mkdirat(above.get(), name.c_str(), 0700) != 0 && errno != EEXIST)
        return io_error("mkdir " + maildir.string(), errno);
    UniqueFd root(::openat(above.get(), name.c_str(), kDirectoryFlags));
    if (!root) {
        const int err = errno;
        if (err == ELOOP || err == ENOTDIR)
            return refused(maildir,
                           "the Maildir directory " + why_not_a_directory(above.get(), name.c_str()));
        return io_error("open " + maildir.string(), err);
    }
    return root;
}

// cur/, new/ or tmp/: a directory (not a link) of the Maildir's owner. A
// missing one is made only in a Maildir of mailqd's own: in anyone else's it
// would belong to mailqd, and the owner is the one to make it.
Result<UniqueFd> open_part(const std::filesystem::path& maildir, int root, const struct stat& owner,
                           const char* name)
{
    UniqueFd part(::openat(root, name, kDirectoryFlags));
    if (!part && errno == ENOENT) {
        if (owner.st_uid != ::geteuid())
            return make_error(ErrorKind::config, "maildir " + maildir.string() + ": " + name +
                                                     " is missing and the Maildir directory belongs to uid " +
                                                     std::to_string(owner.st_uid) + ", not to mailqd (uid " +
                                                     std::to_string(::geteuid()) +
                                                     "): its owner must create it");
        if (::mkdirat(root, name, 0700) != 0 && errno != EEXIST)
            return io_error("mkdir " + (maildir / name).string(), errno);
        part = UniqueFd(::openat(root, name, kDirectoryFlags));
    }
    if (!part) {
        const int err = errno;
        if (err == ELOOP || err == ENOTDIR)
            return refused(maildir, name + (" " + why_not_a_directory(root, name)));
        return io_error("open " + (maildir / name).string(), err);
    }
    struct stat st {};
    if (::fstat(part.get(), &st) != 0) return io_error("stat " + (maildir / name).string(), errno);
    if (st.st_uid != owner.st_uid)
        return refused(maildir, std::string(name) + " belongs to uid " + std::to_string(st.st_uid) +
                                    ", the Maildir directory to uid " + std::to_string(owner.st_uid));
    return part;
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
int write_tmp_file(int tmp, const std::string& name, std::string_view message)
{
    int fd = ::openat(tmp, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return -errno;
    int err = write_all(fd, message);
    if (err != 0) {
        ::close(fd);
        ::unlinkat(tmp, name.c_str(), 0);
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

MaildirWriter::MaildirWriter(std::filesystem::path root, UniqueFd tmp, UniqueFd fresh)
    : root_(std::move(root)),
      tmp_(std::move(tmp)),
      new_(std::move(fresh)),
      host_(maildir_safe_host(local_host_name()))
{
}

Result<MaildirWriter> MaildirWriter::open(const std::filesystem::path& maildir)
{
    if (maildir.empty()) return make_error(ErrorKind::config, "maildir: empty path");
    auto root = open_root(maildir);
    if (!root) return root.error();
    struct stat owner {};
    if (::fstat(root->get(), &owner) != 0) return io_error("stat " + maildir.string(), errno);
    // cur/ is only checked: mailqd never writes there, a reader (Dovecot,
    // mailqctl inbox) moves messages into it.
    auto cur = open_part(maildir, root->get(), owner, "cur");
    if (!cur) return cur.error();
    auto fresh = open_part(maildir, root->get(), owner, "new");
    if (!fresh) return fresh.error();
    auto tmp = open_part(maildir, root->get(), owner, "tmp");
    if (!tmp) return tmp.error();
    return MaildirWriter(maildir, std::move(*tmp), std::move(*fresh));
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

// "X<hex>." inside the unique part, before the host. The scan reads the new/
// that open() checked, through a descriptor of its own (openat ".", not dup:
// a dup would share, and move, the directory offset).
std::unordered_map<std::string, std::string> MaildirWriter::tagged_in_new() const
{
    std::unordered_map<std::string, std::string> found;
    const int fd = ::openat(new_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return found;
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
        ::close(fd);
        return found;
    }
    while (const dirent* entry = ::readdir(dir)) {
        const std::string name = entry->d_name;
        if (name == "." || name == "..") continue;
        const auto dot = name.find('.', name.find('.') + 1);  // the one before the host
        const auto x = name.rfind('X', dot);
        if (dot == std::string::npos || x == std::string::npos || x < name.find('Q')) continue;
        found.emplace(name.substr(x + 1, dot - x - 1), name);
    }
    ::closedir(dir);  // closes fd
    return found;
}

Result<std::vector<std::string>> MaildirWriter::deliver(const std::vector<std::string_view>& messages,
                                                        const std::vector<std::string>& tags)
{
    std::vector<std::string> names;
    names.reserve(messages.size());
    const auto tmp = root_ / "tmp";  // for error messages only
    const auto fresh = root_ / "new";
    auto undo = [&](std::size_t renamed) {
        for (std::size_t i = 0; i < names.size(); ++i)
            ::unlinkat(i < renamed ? new_.get() : tmp_.get(), names[i].c_str(), 0);
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
            int fd = write_tmp_file(tmp_.get(), name, messages[i]);
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
        if (::renameat(tmp_.get(), names[i].c_str(), new_.get(), names[i].c_str()) != 0)
            return fail("rename into " + fresh.string(), errno, i);
    if (!names.empty() && ::fsync(new_.get()) != 0)
        return fail("fsync " + fresh.string(), errno, names.size());
    return names;
}

Result<std::string> MaildirWriter::deliver_one(std::string_view message)
{
    auto names = deliver({message});
    if (!names) return names.error();
    return std::move(names->front());
}

}  // namespace mailqd
