// A file descriptor with one owner: closed when the holder goes, moved (not
// copied) to a new owner. The one such holder: for descriptors closed on
// every path out of a function, and for classes that keep them open across
// calls (MaildirWriter keeps its directories, so that a name swapped for a
// symbolic link after opening changes nothing).
#pragma once

#include <unistd.h>
#include <utility>

namespace mailqd {

class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept
    {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }

    void reset()
    {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

}  // namespace mailqd
