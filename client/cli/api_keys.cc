// `assay keys create|list|revoke`, `assay whoami`.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/cli/api_commands.h"
#include "client/cli/command_util.h"
#include "client/lib/api.h"
#include "core/base/status_macros.h"

namespace assay::client {

void ApiCommands::AddKeyCommands(CLI::App& app) {
  Args& flags = *args_;
  CLI::App* group = app.add_subcommand("keys", "The team's API keys (admin)");
  group->require_subcommand(1);
  CLI::App* sub = Add(*group, "create", "Create a key; prints it once (only its hash is stored)",
                      [](const AssayClient& client, const Args& a) -> absl::Status {
                        v1::CreateApiKeyRequest request;
                        ASSIGN_OR_RETURN(auto role, EnumArg<v1::Role>("ROLE_", "--role", a.role));
                        request.set_role(role);
                        request.set_description(a.description);
                        ASSIGN_OR_RETURN(auto r, TeamsClient(client).CreateApiKey(request));
                        Print(a.format == OutputFormat::kJson ? FormatJson(r) : r.key() + "\n");
                        return absl::OkStatus();
                      });
  sub->add_option("--role", flags.role, "read, write or admin")->required();
  sub->add_option("--description", flags.description, "what the key is for");
  AddFormatFlags(sub, flags.format);

  sub = Add(
      *group, "list", "The team's keys (prefixes only)",
      [](const AssayClient& client, const Args& a) -> absl::Status {
        ASSIGN_OR_RETURN(auto r, TeamsClient(client).ListApiKeys());
        Table t{{"prefix", "role", "description", "created", "revoked"}, {}};
        for (const v1::ApiKeyInfo& k : r.keys()) {
          t.rows.push_back({k.prefix(), absl::AsciiStrToLower(v1::Role_Name(k.role()).substr(5)),
                            k.description(), Time(k.created_at()), k.revoked() ? "yes" : ""});
        }
        PrintRows(r, t, a.format);
        return absl::OkStatus();
      });
  AddFormatFlags(sub, flags.format);

  sub = Add(*group, "revoke", "Revoke a key by its prefix",
            [](const AssayClient& client, const Args& a) -> absl::Status {
              ASSIGN_OR_RETURN(auto r, TeamsClient(client).RevokeApiKey(a.id));
              Print(FormatMessage(r, a.format));
              absl::PrintF("revoked %s\n", a.id);
              return absl::OkStatus();
            });
  sub->add_option("prefix", flags.id, "the key's prefix")->required();

  sub = Add(app, "whoami", "The team and role of the token",
            [](const AssayClient& client, const Args& a) -> absl::Status {
              ASSIGN_OR_RETURN(auto r, TeamsClient(client).WhoAmI());
              if (a.format == OutputFormat::kJson)
                return Print(FormatMessage(r, a.format)), absl::OkStatus();
              // The team, then its limits as a table (0 is unlimited).
              v1::WhoAmIResponse who = r;
              who.clear_limits();
              Print(FormatMessage(who, a.format));
              Table t{{"limit", "value", "used", "what"}, {}};
              const auto number = [](double x) {
                return x == std::floor(x) && std::abs(x) < 1e15
                           ? absl::StrCat(static_cast<int64_t>(x))
                           : Num(x);
              };
              for (const v1::TeamLimit& l : r.limits()) {
                const std::string zero =
                    l.name() == "write_burst" ? "one second of write_rate" : "unlimited";
                t.rows.push_back({l.name(), l.limit() > 0 ? number(l.limit()) : zero,
                                  number(l.used()), l.description()});
              }
              Print(FormatTable(t, a.format));
              return absl::OkStatus();
            });
  AddFormatFlags(sub, flags.format);
}

}  // namespace assay::client
