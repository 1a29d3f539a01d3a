// Binding a listening Unix stream socket the way an admin expects: the
// parent directory is created if missing, a stale socket file left by a
// crash is replaced, a socket another live process listens on is an error,
// and mode/group are applied before anyone can connect.
#pragma once

#include <sys/types.h>
#include <filesystem>
#include <string>

#include "daemon/net/asio.hpp"
#include "spool/result.hpp"

namespace mailqd {

using UnixAcceptor = asio::local::stream_protocol::acceptor;

// The socket file a bind made. remove() unlinks it only while it is still
// that file: a restarted daemon, or a second one, may own a new one there.
struct SocketFile {
    std::filesystem::path path;
    ino_t inode = 0;
    void remove() const;
};

// group empty: leave the group as is. Only a successful bind returns a
// SocketFile: a listen that failed has no file of its own to remove.
Result<SocketFile> bind_unix_socket(UnixAcceptor& acceptor, const std::filesystem::path& path, mode_t mode,
                                    const std::string& group);

// Creates dir (and its parents) if missing and gives the new leaf mode.
Status ensure_directory(const std::filesystem::path& dir, mode_t mode);

}  // namespace mailqd
