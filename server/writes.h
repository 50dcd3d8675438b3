// The write rules of the API (SPEC.md section 2), shared by the REST routes
// and sync pushes: create (one row, or a run of creates as one INSERT),
// patch, delete, the project's own rules, and membership. Each checks
// validity and the user's role in the statements it runs on the caller's
// Session, and returns a WriteOutcome value: the row as it now is, or a
// rejection with an ErrorCode and a user-facing detail. Transports translate
// outcomes (REST to a status and body by Respond in api_context.h, a push to a
// PushResult in api_sync.cc); nothing here speaks HTTP.
//
// A rejection is always found before anything is written (validation, roles,
// ON CONFLICT DO NOTHING), so a push can go on after one without a savepoint.
// Statements that fail anyway (a constraint only the database knows) throw,
// as every statement does; Session::Attempt turns that into a value.
//
// Thread-safe: a Writes may be shared; each call uses the caller's Session.
#ifndef VEMAKIN_SERVER_WRITES_H_
#define VEMAKIN_SERVER_WRITES_H_

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/model.h"
#include "core/sync_protocol.h"
#include "core/validation.h"
#include "server/db.h"

namespace vemakin::server {

struct WriteOutcome {
  enum class Kind { kCreated, kApplied, kRejected };

  Kind kind = Kind::kApplied;
  nlohmann::json row;  // kCreated / kApplied: the row as it now is (null after a delete)
  ErrorCode code = ErrorCode::kInvalidArgument;  // kRejected: why
  nlohmann::json detail;  // kRejected: a sentence, or the validation errors (the 422 list)

  static WriteOutcome Created(nlohmann::json row) {
    return {Kind::kCreated, std::move(row), ErrorCode::kInvalidArgument, nullptr};
  }
  static WriteOutcome Applied(nlohmann::json row = nullptr) {
    return {Kind::kApplied, std::move(row), ErrorCode::kInvalidArgument, nullptr};
  }
  static WriteOutcome Rejected(ErrorCode code, nlohmann::json detail) {
    return {Kind::kRejected, nullptr, code, std::move(detail)};
  }
  static WriteOutcome Invalid(const std::vector<core::FieldError>& errors) {
    return Rejected(ErrorCode::kInvalidArgument, core::FieldErrorsToJson(errors));
  }
  bool rejected() const { return kind == Kind::kRejected; }
};

class Writes {
 public:
  // `statement` returns the named statement of an SQL text (the Api's
  // cache); it must outlive the Writes.
  explicit Writes(std::function<const Statement&(const std::string&)> statement)
      : stmt_(std::move(statement)) {}

  // The user's role in a project, nullopt when not a member (remembered in
  // s.role_memo when the unit of work keeps one).
  std::optional<std::string> Role(Session& s, const std::string& project_id,
                                  const std::string& user_id) const;

  // A row of a table users write (not projects): `body` holds its fields, the
  // id optional. A repeat with the same id and values is applied (the row);
  // another row under that id is kAlreadyExists.
  WriteOutcome Create(Session& s, const core::TableSpec& spec, const std::string& user_id,
                      const nlohmann::json& body) const;
  // Many creates of one table as one INSERT (a push's upload), one outcome
  // per body, in order, each as Create would answer it.
  std::vector<WriteOutcome> CreateMany(Session& s, const core::TableSpec& spec,
                                       const std::string& user_id,
                                       const std::vector<nlohmann::json>& bodies) const;
  WriteOutcome Patch(Session& s, const core::TableSpec& spec, const std::string& user_id,
                     const std::string& id, const nlohmann::json& body) const;
  // kNotFound when there is no such row visible to the user.
  WriteOutcome Delete(Session& s, const core::TableSpec& spec, const std::string& user_id,
                      const std::string& id) const;
  // Projects: create (the user becomes its owner), update (owner, editor),
  // delete (owner; its rows go with it).
  WriteOutcome Project(Session& s, const std::string& user_id, core::MutationOp op,
                       const std::string& id, const nlohmann::json& fields) const;

  // The project's members with their email and name, in list order.
  nlohmann::json Members(Session& s, const std::string& project_id) const;
  // The owner adds (or re-roles) the account with this email: kCreated for a
  // new member, kApplied for a changed role; the member as Members lists it.
  // kNotFound when the email has no account, and then `*no_account` (when
  // given) is set, for the caller's rate limit on such lookups; the project
  // and the caller's role are checked first.
  WriteOutcome AddMember(Session& s, const std::string& owner_id, const std::string& project_id,
                         const std::string& email, const std::string& role,
                         bool* no_account = nullptr) const;
  WriteOutcome RemoveMember(Session& s, const std::string& owner_id, const std::string& project_id,
                            const std::string& user_id) const;

 private:
  // Why a write on a project row matched nothing: a viewer, or no such row.
  // A create whose id is taken: by a row (`what` says which kind) or by a
  // deleted row (ids are never reused, schema/postgres/0007).
  WriteOutcome IdClash(Session& s, const std::string& id, const std::string& what) const;
  WriteOutcome ExplainMiss(Session& s, const core::TableSpec& spec, const std::string& id,
                           const std::string& user_id) const;
  // The role check of a write to a project's rows; nullopt when allowed.
  std::optional<WriteOutcome> RequireEditor(Session& s, const std::string& project_id,
                                            const std::string& user_id) const;
  const Statement& Stmt(const std::string& sql) const { return stmt_(sql); }

  std::function<const Statement&(const std::string&)> stmt_;
};

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_WRITES_H_
