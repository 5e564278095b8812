// How the uplink includes Boost.Asio. Boost 1.74's awaitable.hpp uses
// std::exchange without including <utility>; g++ 12 in C++20 mode rejects
// that, so <utility> comes first. (Same fix as engine/net/asio.h; readers may
// not include engine headers.)
#pragma once

#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
