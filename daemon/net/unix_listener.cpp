// See unix_listener.hpp.
#include "daemon/net/unix_listener.hpp"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <vector>

namespace mailqd {
namespace {

Error sys_error(const std::string& what, int err)
{
    ErrorKind kind = (err == EACCES || err == EPERM) ? ErrorKind::permission : ErrorKind::failure;
    return make_error(kind, what + ": " + std::strerror(err));
}

// A socket file nobody listens on is left over from a crash: remove it.
Status remove_stale_socket(asio::any_io_executor executor, const std::filesystem::path& path)
{
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return {};
    if (!S_ISSOCK(st.st_mode))
        return make_error(ErrorKind::failure, path.string() + ": exists and is not a socket");
    asio::local::stream_protocol::socket probe(executor);
    error_code ec;
    probe.connect(asio::local::stream_protocol::endpoint(path.string()), ec);
    if (!ec) return make_error(ErrorKind::unavailable, path.string() + ": in use by another process");
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return sys_error(path.string(), errno);
    return {};
}

Status apply_group(const std::filesystem::path& path, const std::string& group)
{
    if (group.empty()) return {};
    std::vector<char> buffer(16384);
    struct group entry {};
    struct group* found = nullptr;
    ::getgrnam_r(group.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (found == nullptr) return make_error(ErrorKind::config, path.string() + ": unknown group " + group);
    if (::chown(path.c_str(), static_cast<uid_t>(-1), found->gr_gid) != 0)
        return sys_error(path.string() + ": chgrp " + group, errno);
    return {};
}

}  // namespace

Status ensure_directory(const std::filesystem::path& dir, mode_t mode)
{
    if (dir.empty()) return {};
    std::error_code ec;
    if (std::filesystem::is_directory(dir, ec)) return {};
    if (!std::filesystem::create_directories(dir, ec) && ec)
        return make_error(ErrorKind::failure, dir.string() + ": " + ec.message());
    if (::chmod(dir.c_str(), mode) != 0) return sys_error(dir.string(), errno);
    return {};
}

void SocketFile::remove() const
{
    struct stat st {};
    if (!path.empty() && ::lstat(path.c_str(), &st) == 0 && st.st_ino == inode) ::unlink(path.c_str());
}

Result<SocketFile> bind_unix_socket(UnixAcceptor& acceptor, const std::filesystem::path& path, mode_t mode,
                                    const std::string& group)
{
    if (Status s = ensure_directory(path.parent_path(), 0755); !s) return s.error();
    if (Status s = remove_stale_socket(acceptor.get_executor(), path); !s) return s.error();
    error_code ec;
    asio::local::stream_protocol::endpoint endpoint(path.string());
    acceptor.open(endpoint.protocol(), ec);
    // Bind under a tight umask so nobody connects before chmod.
    const mode_t old_mask = ::umask(0177);
    if (!ec) acceptor.bind(endpoint, ec);
    ::umask(old_mask);
    if (ec) return make_error(ErrorKind::failure, path.string() + ": bind: " + ec.message());
    if (Status s = apply_group(path, group); !s) return s.error();
    if (::chmod(path.c_str(), mode) != 0) return sys_error(path.string() + ": chmod", errno);
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return make_error(ErrorKind::failure, path.string() + ": listen: " + ec.message());
    SocketFile file{path};
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) file.inode = st.st_ino;
    return file;
}

}  // namespace mailqd
