// Plans: everyone sees the public ones, admins all of them and change them.
#include "admin-ui/api_context.hpp"

namespace depot::console {

asio::awaitable<void> plans_op(ApiContext& c) {
  auto& plans = c.svc.plans;
  switch (c.endpoint.op) {
    case Op::plans_list: {
      json::array items;
      for (const auto& p : co_await plans.list(c.is_admin())) items.push_back(plan_json(p));
      co_return co_await c.reply(status::ok, [&] { return json::object{{"items", items}, {"next", nullptr}}; }());
    }
    case Op::plans_create: {
      storage::Plan p;
      auto name = c.str("name"), price = c.str("price_id");
      auto bytes = c.integer("bytes_limit"), objects = c.integer("objects_limit");
      auto pub = c.boolean("public");
      if (!c.problem.empty() || !name || !bytes)
        co_return co_await c.fail_invalid("name and bytes_limit are required");
      p.name = *name;
      p.bytes_limit = *bytes;
      p.objects_limit = objects;
      p.price_id = price.value_or("");
      p.is_public = pub.value_or(true);
      auto r = co_await plans.create(p);
      if (!r) co_return co_await c.fail(r.error());
      co_return co_await c.reply(status::created, plan_json(*r));
    }
    case Op::plans_update: {
      storage::PlanChange ch;
      ch.bytes_limit = c.integer("bytes_limit");
      if (c.body.contains("objects_limit")) ch.objects_limit = c.integer("objects_limit").value_or(-1);
      if (c.body.contains("price_id")) ch.price_id = c.str("price_id").value_or("");
      ch.is_public = c.boolean("public");
      if (!c.problem.empty()) co_return co_await c.fail(status::bad_request, "invalid_argument", c.problem);
      auto r = co_await plans.update(c.param(0), ch);
      if (!r) co_return co_await c.fail(r.error());
      co_return co_await c.reply(status::ok, plan_json(*r));
    }
    case Op::plans_delete: {
      auto r = co_await plans.remove(c.param(0));
      if (!r) co_return co_await c.fail(r.error());
      co_return co_await c.reply(status::no_content, nullptr);
    }
    default: co_return co_await c.fail(status::not_found, "not_found", "no such operation");
  }
}

}  // namespace depot::console
