// Maildir listing, lookup and attachment files (see inbox_maildir.hpp).
#include "cli/inbox_maildir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace mailqd {

namespace {

namespace fs = std::filesystem;

Status scan_folder(const fs::path& maildir, const char* folder, std::vector<MaildirEntry>& out)
{
    std::error_code ec;
    fs::directory_iterator it(maildir / folder, ec);
    if (ec) {
        if (ec == std::errc::no_such_file_or_directory) return {};
        ErrorKind kind = ec == std::errc::permission_denied ? ErrorKind::permission : ErrorKind::io;
        return make_error(kind, (maildir / folder).string() + ": " + ec.message());
    }
    for (; it != fs::directory_iterator(); it.increment(ec)) {
        if (ec) return make_error(ErrorKind::io, (maildir / folder).string() + ": " + ec.message());
        std::string name = it->path().filename().string();
        struct stat st {};
        if (name.empty() || name[0] == '.' || ::stat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        MaildirEntry e;
        e.handle = name;
        e.folder = folder;
        e.path = it->path();
        e.size = static_cast<std::uint64_t>(st.st_size);
        e.received_at = TimePoint(std::chrono::seconds(st.st_mtim.tv_sec));
        out.push_back(std::move(e));
    }
    return {};
}

}  // namespace

Result<std::vector<MaildirEntry>> list_maildir(const fs::path& maildir, bool new_only)
{
    std::vector<MaildirEntry> out;
    if (Status s = scan_folder(maildir, "new", out); !s) return s.error();
    if (!new_only)
        if (Status s = scan_folder(maildir, "cur", out); !s) return s.error();
    std::sort(out.begin(), out.end(), [](const MaildirEntry& a, const MaildirEntry& b) {
        if (a.received_at != b.received_at) return a.received_at > b.received_at;
        return a.handle > b.handle;
    });
    return out;
}

Result<MaildirEntry> find_in_maildir(const fs::path& maildir, std::string_view handle)
{
    if (handle.empty() || handle.find('/') != std::string_view::npos || handle.front() == '.' ||
        handle.find('\0') != std::string_view::npos)
        return make_error(ErrorKind::usage,
                          "bad handle \"" + std::string(handle) + "\" (a file name from mailqctl inbox)");
    auto all = list_maildir(maildir, false);
    if (!all) return all.error();
    for (const auto& e : *all)
        if (e.handle == handle) return e;
    for (const auto& e : *all)
        if (std::string_view(e.handle).substr(0, e.handle.find(':')) == handle) return e;
    return make_error(ErrorKind::not_found, "no message " + std::string(handle) + " in " + maildir.string());
}

Result<std::string> read_maildir_file(const MaildirEntry& entry, std::uint64_t max_bytes)
{
    if (entry.size > max_bytes)
        return make_error(ErrorKind::failure,
                          entry.path.string() + ": larger than " + std::to_string(max_bytes) + " bytes");
    std::ifstream in(entry.path, std::ios::binary);
    if (!in) return make_error(ErrorKind::io, entry.path.string() + ": " + std::strerror(errno));
    std::string data;
    data.resize(static_cast<std::size_t>(entry.size));
    in.read(data.data(), static_cast<std::streamsize>(data.size()));
    data.resize(static_cast<std::size_t>(in.gcount()));
    return data;
}

std::string safe_file_name(std::string_view name, std::size_t index)
{
    std::size_t slash = name.find_last_of("/\\");
    if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
    std::string out;
    for (char c : name) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7F) continue;
        out += c;
    }
    std::size_t start = out.find_first_not_of(". ");
    out = start == std::string::npos ? std::string() : out.substr(start);
    while (!out.empty() && out.back() == ' ') out.pop_back();
    if (out.size() > 200) {
        std::size_t cut = 200;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // whole characters
        out.resize(cut);
    }
    if (out.empty()) out = "attachment-" + std::to_string(index);
    return out;
}

Status write_new_file(const fs::path& path, std::string_view data, bool force)
{
    if (force) {
        struct stat st {};
        if (::lstat(path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) ::unlink(path.c_str());
    }
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) {
        if (errno == EEXIST)
            return make_error(ErrorKind::failure, path.string() + " exists (--force replaces it)");
        return make_error(errno == EACCES ? ErrorKind::permission : ErrorKind::io,
                          path.string() + ": " + std::strerror(errno));
    }
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            ::close(fd);
            return make_error(ErrorKind::io, path.string() + ": " + std::strerror(err));
        }
        done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) return make_error(ErrorKind::io, path.string() + ": " + std::strerror(errno));
    return {};
}

}  // namespace mailqd
