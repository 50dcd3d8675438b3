// The pull's statement (pull_sql.h).
#include "server/pull_sql.h"

namespace vemakin::server {

// Its cost must follow the changes this user is behind on, never the size of
// the log, of the user's projects or of other users' traffic, and under the
// plan PostgreSQL caches for every parameter value (a generic plan, after
// five executions on a connection), not only under the plan it would choose
// knowing them. So each step has one shape whatever the estimates:
// - keys: one index range scan per scope (each member project from the
//   later of the cursor and the member's start, the user's own rows, the
//   global catalog on its partial index), each at most $4 long, merged;
// - picked: the first $4 of those below the horizon (and `upto`): keys only;
// - found: each picked change's row by primary key. The LIMIT inside the
//   LATERAL keeps the planner from turning this into a join with the whole
//   log: at 1,000,000 changes in one project the generic plan, estimating a
//   third of the project's changes for `keys`, merge-joined the primary key
//   from the start (1.1 million index entries, 400 ms for 10 changes).
std::string PullChangesSql(bool upto) {
  return std::string(
             "WITH h AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin),"
             " keys AS ("
             " SELECT x.txid, x.seq FROM project_members m"
             "  LEFT JOIN membership_starts ms ON ms.project_id = m.project_id"
             "  AND ms.user_id = m.user_id"
             "  CROSS JOIN LATERAL (SELECT coalesce(ms.since, '0'::xid8) AS since) st"
             "  CROSS JOIN LATERAL ("
             "  SELECT c.txid, c.seq FROM sync_changes c WHERE c.project_id = m.project_id"
             "  AND (c.txid, c.seq) > (GREATEST($2::xid8, st.since),"
             "   CASE WHEN st.since > $2::xid8 THEN 0 ELSE $3::bigint END)"
             "  ORDER BY c.txid, c.seq LIMIT $4::bigint) x WHERE m.user_id = $1::uuid"
             " UNION (SELECT c.txid, c.seq FROM sync_changes c WHERE c.user_id = $1::uuid"
             "  AND (c.txid, c.seq) > ($2::xid8, $3::bigint) ORDER BY c.txid, c.seq"
             "  LIMIT $4::bigint)"
             " UNION (SELECT c.txid, c.seq FROM sync_changes c WHERE c.project_id IS NULL"
             "  AND c.user_id IS NULL AND (c.txid, c.seq) > ($2::xid8, $3::bigint)"
             "  ORDER BY c.txid, c.seq LIMIT $4::bigint))"
             " , picked AS (SELECT k.txid, k.seq FROM keys k"
             "  WHERE k.txid < (SELECT xmin FROM h)") +
         (upto ? " AND (k.txid, k.seq) <= ($6::xid8, $7::bigint)" : "") +
         " ORDER BY k.txid, k.seq LIMIT $4::bigint)"
         " , found AS (SELECT c.* FROM picked p CROSS JOIN LATERAL ("
         "  SELECT * FROM sync_changes r WHERE r.txid = p.txid AND r.seq = p.seq LIMIT 1) c)"
         // The byte budget, by the sizes recorded at capture (0010; older
         // changes, which have none, by their text): a change whose
         // predecessors on the page already fill it is returned without its
         // row image, only to say that the page has more. Only the row
         // images sent are turned into text.
         " , sized AS (SELECT f.*, coalesce(sum(coalesce(f.data_bytes,"
         "  octet_length(f.data::text), 0) + 64)"
         "  OVER (ORDER BY f.txid, f.seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1"
         "  PRECEDING), 0) < $5::bigint AS fits FROM found f)"
         " SELECT (SELECT xmin FROM h)::text, f.txid::text, f.seq, f.table_name, f.row_id,"
         " f.op, CASE WHEN f.fits THEN f.data::text END,"
         " f.table_name = 'project_members' AND f.op = 'upsert'"
         "  AND f.user_id = $1::uuid AND f.txid = (SELECT since FROM membership_starts"
         "  WHERE project_id = f.project_id AND user_id = $1::uuid), f.fits"
         " FROM (SELECT 1) one LEFT JOIN sized f ON true ORDER BY f.txid, f.seq";
}

}  // namespace vemakin::server
