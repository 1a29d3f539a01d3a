// See queue_lock.hpp.
#include "daemon/queue_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mailqd {

Result<QueueLock> QueueLock::take(const std::filesystem::path& database)
{
    const std::string path = database.string() + ".lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return make_error(ErrorKind::failure, path + ": " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        ::close(fd);
        if (err == EWOULDBLOCK)
            return make_error(ErrorKind::unavailable,
                              database.string() + " is in use by another mailqd (it holds " + path + ")");
        return make_error(ErrorKind::failure, path + ": flock: " + std::strerror(err));
    }
    return QueueLock(fd);
}

QueueLock::~QueueLock()
{
    if (fd_ >= 0) ::close(fd_);
}

}  // namespace mailqd
