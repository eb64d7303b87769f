"""How each API route is guarded (the API's permission matrix; tests/api/test_matrix.py).

A route added to the API without an entry here fails ``test_every_api_route_is_in_the_matrix``
(and tests/web/test_permission_matrix.py delegates every ``api:`` route to this table).

- "public": no authentication (the docs page's static assets);
- "docs": the schema and the docs page: any logged-in user or token;
- "reference": company-wide configuration any member may read (product lines, pipelines);
- "list": a list restricted by the visibility rule;
- "create": creates a record: 403 for a viewer and for a read-only token;
- "object": reads one record: 404 when hidden, exactly like a missing one;
- "object-write": changes one record: 403 for a viewer / read-only token, else 404 when hidden.

Plans and targets (tests/api/test_targets_api.py), whose writes follow ``targets.rules``:

- "plan": one plan, readable by every member (plans are company-wide documents);
- "plan-write": a plan's workflow step: 403 unless the role may take that step;
- "plan-run": a recomputation's progress: 404 unless the caller may start one (the plan's
  owner, a director, an admin), exactly like a missing one;
- "plan-list": a list inside a plan, restricted by the visibility rule;
- "target": one target: 404 when hidden, exactly like a missing one;
- "target-write": changes a target: 404 when hidden, 403 unless it is below the caller;
- "target-propose": a proposal: 404 when hidden, 403 unless it is the caller's own target;
- "proposal-write": decides a proposal: 404 when hidden, 403 unless above the proposer;
- "personal": what waits on the caller (``/api/me/waiting``): every member gets 200 and only
  their own items (tests/api/test_targets_api.py);
- "member-move": moves a member to another team: 404 when the member is hidden, 403 unless
  the caller is above both the member's team and the new one.
- "node": figures of a dashboard node (tests/insights/test_api.py): 404 for a node the
  caller may not open, exactly like a missing one.
"""

API_ROUTES = {
    "api-root": "public",  # ninja's root: always 404 (it only anchors the URLs)
    "openapi-json": "docs",
    "openapi-view": "docs",
    "docs-asset": "public",
    # customers
    "customer_list": "list",
    "customer_create": "create",
    "customer_detail": "object",
    "customer_update": "object-write",
    "customer_delete": "object-write",
    "contact_list": "object",
    "contact_create": "object-write",
    "contact_detail": "object",
    "contact_update": "object-write",
    "contact_delete": "object-write",
    "product_line_list": "reference",
    "product_list": "reference",
    # pipeline
    "pipeline_list": "reference",
    "opportunity_list": "list",
    "opportunity_create": "create",
    "opportunity_detail": "object",
    "opportunity_update": "object-write",
    "opportunity_delete": "object-write",
    "opportunity_move_stage": "object-write",
    "opportunity_stage_history": "object",
    "lead_list": "list",
    "lead_create": "create",
    "lead_detail": "object",
    "lead_update": "object-write",
    "lead_delete": "object-write",
    "lead_convert": "object-write",
    # orders
    "order_list": "list",
    "order_create": "create",
    "order_detail": "object",
    "order_update": "object-write",
    "order_delete": "object-write",
    "payment_list": "list",
    "payment_create": "create",
    "payment_detail": "object",
    "payment_delete": "object-write",
    # activities
    "activity_list": "list",
    "activity_create": "create",
    "activity_detail": "object",
    "activity_update": "object-write",
    "activity_delete": "object-write",
    "activity_complete_follow_up": "object-write",
    # targets
    "plan_list": "reference",
    "plan_detail": "plan",
    "plan_transition": "plan-write",
    "plan_recompute": "plan-write",
    "plan_run": "plan-run",
    "plan_targets": "plan-list",
    "plan_revisions": "plan-list",
    "plan_proposals": "plan-list",
    "plan_compare": "plan-list",
    "target_detail": "target",
    "target_recommendation": "target",
    "target_update": "target-write",
    "target_split": "target-write",
    "target_take_sum": "target-write",
    "target_months": "target-write",
    "target_revise": "target-write",
    "proposal_create": "target-propose",
    "proposal_decide": "proposal-write",
    "proposals_request": "plan-write",
    "proposals_accept_within": "plan-write",
    "my_waiting": "personal",
    "member_move": "member-move",
    # performance tracking (tests/insights/test_api.py)
    "performance": "node",
}
