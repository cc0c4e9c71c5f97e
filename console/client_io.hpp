// Socket reads and writes for the console's servers (the Unix console socket, the metrics HTTP
// listener): bounded in size and time, because they run on the control core and a client must
// never hold it.
#pragma once

#include <string>
#include <string_view>

namespace rampart::console {

// Reads until `end` arrives (out then stops before it), the peer closes after sending something,
// max bytes pass, or timeout_ms elapse in all. False when no complete request came.
bool read_until(int fd, std::string_view end, size_t max, int timeout_ms, std::string& out);
// Sends all of text unless the peer goes away or a send times out.
void write_all(int fd, std::string_view text);
// A client that stops reading holds a send this long at most.
void limit_send_time(int fd, int seconds);

}  // namespace rampart::console
