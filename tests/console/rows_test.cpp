#include <catch2/catch.hpp>

#include "console/rows.hpp"

using namespace rampart;
using console::Cell;
using console::Rows;

TEST_CASE("one row model renders as an aligned table and as JSON", "[console][rows]") {
  // "spi" is text in the table and a number in JSON; "note" is the table's only, "why" JSON's.
  Rows rows({{"name", "name"}, {"spi", ""}, {"", "spi"}, {"up", "up"}, {"note", ""}, {"", "why"}});
  rows.add({"tunnel-a", "0x00001001", Cell::number(0x1001u), Cell::boolean(true), "ok", ""});
  rows.add({"b", "0x00000002", Cell::number(uint64_t{2}), Cell::boolean(false), "-", "he said \"no\""});
  CHECK(rows.table() ==
        "name      spi         up     note\n"
        "tunnel-a  0x00001001  true   ok\n"
        "b         0x00000002  false  -\n");
  CHECK(rows.json() ==
        "[{\"name\": \"tunnel-a\", \"spi\": 4097, \"up\": true, \"why\": \"\"}, "
        "{\"name\": \"b\", \"spi\": 2, \"up\": false, \"why\": \"he said \\\"no\\\"\"}]\n");
  CHECK(rows.render(true) == rows.json());
}

TEST_CASE("no rows: the headers alone, and an empty JSON array", "[console][rows]") {
  Rows rows({{"address", "address"}, {"mac", "mac"}});
  CHECK(rows.table() == "address  mac\n");
  CHECK(rows.json() == "[]\n");
  CHECK(Cell::number(2.5).text == "2.5");
  CHECK_FALSE(Cell::number(2.5).quoted);
}
