#include "server/demo_seed.h"

#include "server/auth.h"

namespace vemakin::server {

DemoSeedResult SeedDemoData(pqxx::connection& conn, const DemoSeedOptions& options,
                            const std::function<void(int, int)>& progress) {
  PasswordHasher hasher(1, 1, std::chrono::seconds(60));
  const std::string hash = hasher.Hash(options.password);
  const std::string run = NewToken().substr(0, 8);  // keeps emails unique across runs
  DemoSeedResult result;
  for (int i = 0; i < options.users; ++i) {
    pqxx::work tx(conn);
    const std::string email =
        "crew" + std::to_string(i + 1) + "-" + run + "@" + options.email_domain;
    const std::string user = tx.exec_params1(
                                   "INSERT INTO users (id, email, name, password_hash) "
                                   "VALUES (gen_random_uuid(), lower($1), $2, $3) RETURNING id",
                                   email, "Crew member " + std::to_string(i + 1), hash)[0]
                                 .as<std::string>();
    const std::string project = tx.exec_params1(
                                      "INSERT INTO projects (id, user_id, name) VALUES "
                                      "(gen_random_uuid(), $1, $2) RETURNING id",
                                      user, "Feature " + std::to_string(i + 1))[0]
                                    .as<std::string>();
    tx.exec_params(
        "INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, 'owner')", project,
        user);
    // A 60-day schedule, several set-ups a day, some shots not yet scheduled.
    tx.exec_params(
        "INSERT INTO shots (id, project_id, title, description, status, date, start_time, "
        "duration, location, scene_number) "
        "SELECT gen_random_uuid(), $1, 'Scene ' || (g % 120 + 1) || ' shot ' || g, "
        "'Coverage for scene ' || (g % 120 + 1), "
        "CASE WHEN g % 4 = 0 THEN 'done' ELSE 'pending' END, "
        "CASE WHEN g % 9 = 0 THEN NULL ELSE current_date + (g % 60) END, "
        "CASE WHEN g % 6 = 0 THEN NULL ELSE lpad((7 + g % 12)::text, 2, '0') || ':' || "
        "lpad(((g % 4) * 15)::text, 2, '0') END, "
        "(1 + g % 5) || 'm', (ARRAY['Stage A','Harbour','Rooftop','Forest road','Diner'])[1 + g % "
        "5], "
        "(g % 120 + 1)::text FROM generate_series(1, $2) g",
        project, options.shots_per_user);
    tx.exec_params(
        "INSERT INTO postprod_tasks (id, project_id, category, title, status, priority, due_date) "
        "SELECT gen_random_uuid(), $1, (ARRAY['Script','Editing','Sound','VFX','Color'])[1 + g % "
        "5], "
        "'Task ' || g, (ARRAY['todo','progress','review','done'])[1 + g % 4], "
        "(ARRAY['low','medium','high','critical'])[1 + g % 4], current_date + 30 + g "
        "FROM generate_series(1, 12) g",
        project);
    tx.exec_params(
        "INSERT INTO notes (id, project_id, title, content) SELECT gen_random_uuid(), $1, "
        "'Note ' || g, 'Reminder for day ' || g FROM generate_series(1, 8) g",
        project);
    tx.exec_params(
        "INSERT INTO equipment (id, user_id, name, catalog_item_id, category, price_per_day, "
        "quantity) "
        "SELECT gen_random_uuid(), $1, b.name || ' ' || c.name, c.id, "
        "CASE WHEN g.name IN "
        "('Camera','Lens','Light','Filter','Audio','Tripod','Stabilizer','Grip',"
        "'Monitoring','Wireless','Drone','Props') THEN g.name ELSE 'Other' END, "
        "(20 + (row_number() OVER ()) * 5)::numeric, 1 "
        "FROM gear_catalog c JOIN gear_brands b ON b.id = c.brand_id "
        "JOIN gear_categories g ON g.id = c.category_id ORDER BY c.name LIMIT 6",
        user);
    tx.commit();
    ++result.users;
    result.shots += options.shots_per_user;
    if (progress) progress(i + 1, options.users);
  }
  return result;
}

}  // namespace vemakin::server
