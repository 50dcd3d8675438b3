// The statement of a pull (SyncApi::Pull, docs/sync-protocol.md): the
// changes after a cursor that one user may read, in the one total order, at
// most one page, with the page's byte budget. In a file of its own so that a
// test can examine its plan as PostgreSQL caches it for the prepared
// statement (tests/regress/issue_13_pull_plan_test.cc).
#ifndef VEMAKIN_SERVER_PULL_SQL_H_
#define VEMAKIN_SERVER_PULL_SQL_H_

#include <string>

namespace vemakin::server {

// Parameters: $1 the user (uuid), $2 and $3 the cursor (xid8, bigint), $4
// the rows wanted (the page's limit + 1, to tell whether there is more), $5
// the page's byte budget; with `upto`, $6 and $7: the last position a page
// may hold. One row per change found, in order, each with the horizon (the
// snapshot's xmin, as text), txid, seq, table, row id, op, the row image as
// text (NULL past the budget), whether it is the membership row that starts
// this user's access, and whether it fits the budget; with no change, one
// row that holds only the horizon.
std::string PullChangesSql(bool upto);

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_PULL_SQL_H_
