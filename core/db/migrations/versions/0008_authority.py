"""database authority: roles, grants, row security, definer functions, keyed audit chain

Revision ID: 0008
Revises: 0007

Terminals hold a PostgreSQL login, so PostgreSQL is the security boundary. Whoever runs
this migration is the owner role: it owns every object and every definer function.
Terminals log in as one login each (``boxoffice terminal add``), members of one group
role per kind. Group roles are cluster-wide (several databases on one server share
them; created idempotently because tests migrate concurrently), while every grant and
the login-to-terminal map live in this database.

Identity inside a definer function is ``session_user`` (the terminal's login), mapped
to a terminal in ``terminal_logins``, a table only the owner writes. A session whose
user has the owner's rights (the owner, a superuser) is trusted with the ids it passes.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

KINDS = ("cashier", "kiosk", "monitor", "gate", "worker")
BASE = "boxoffice_terminal"
GROUPS = tuple(f"boxoffice_{k}" for k in KINDS)
SELLERS = "boxoffice_kiosk, boxoffice_cashier, boxoffice_worker"
ALL = ", ".join(GROUPS)
# The back office's login (venues, events, staff): a monitor with more rights, for an
# admin's own machine (``boxoffice terminal add NAME --kind admin``). Its grants are in
# 0009, with the back-office tables.
ADMIN = "boxoffice_admin"

# Read by every terminal kind: the catalogue and what a screen shows.
CATALOGUE = ("venues", "events", "sections", "seats", "event_seats", "ga_inventory",
             "price_tiers", "pricing_rules", "terminals", "ticket_keys", "revocations",
             "alembic_version", "self_exclusions", "tickets", "orders", "order_lines",
             "holds", "hold_items", "sales", "payments", "checkins")
# Hidden: pin_hash, failed_attempts, locked_until, lockouts.
OPERATOR_COLUMNS = "id, login, display_name, role, active"

# (privileges, table, groups). Column lists narrow UPDATE where the flows allow it.
GRANTS: tuple[tuple[str, str, str], ...] = (
    ("select, insert, update (result)", "command_log", ALL),
    ("update (state, last_heartbeat)", "terminals", ALL),
    # selling (the kiosk's card flow, the counter, the worker recovering stuck sales)
    ("insert, update (status, ended_at, expires_at, extensions)", "holds", SELLERS),
    ("insert", "hold_items", SELLERS),
    ("update (status, hold_id, hold_expires_at, order_id, lease_id, version)", "event_seats",
     SELLERS + ", boxoffice_monitor"),
    ("update (held, sold, leased, version)", "ga_inventory", SELLERS + ", boxoffice_monitor"),
    # Online sales write orders, lines and tickets through bo_confirm_sale and
    # bo_issue_tickets; a counter's offline sales (its lease) still insert them, checked
    # by bo_guard_direct. Status updates are refunds and reversals (bo_guard_status).
    ("update (status)", "orders", SELLERS),
    ("insert", "orders", "boxoffice_cashier, boxoffice_worker"),
    ("update (status)", "order_lines", SELLERS),
    ("insert", "order_lines", "boxoffice_cashier, boxoffice_worker"),
    ("insert, update (state, version, order_id, intent_id, brand, last4, error_code,"
     " attempts, result, updated_at, payment_method, tendered_minor, change_minor)",
     "sales", SELLERS),
    ("insert, update (status, gateway_ref, order_id, brand, last4)", "payments", SELLERS),
    ("update (status, print_count, reprint_count, voided_at, void_reason)", "tickets",
     SELLERS),
    ("insert", "tickets", "boxoffice_cashier, boxoffice_worker"),
    # the counter: shifts, cash, refunds, offline leases
    ("select, insert, update (status, expected_cash_minor, counted_cash_minor,"
     " variance_minor, approval_id, closed_at)", "shifts", "boxoffice_cashier, boxoffice_monitor"),
    ("select, insert", "cash_movements", "boxoffice_cashier"),
    ("select, insert, update (status, gateway_ref, updated_at, sale_id)", "refunds",
     "boxoffice_cashier, boxoffice_worker"),
    ("insert", "revocations", "boxoffice_cashier, boxoffice_worker"),
    ("select", "approvals", "boxoffice_cashier, boxoffice_monitor"),
    ("select, insert, update", "leases", "boxoffice_cashier, boxoffice_monitor, boxoffice_worker"),
    ("select, insert, update", "lease_seats",
     "boxoffice_cashier, boxoffice_monitor, boxoffice_worker"),
    ("select, insert, update", "lease_sales", "boxoffice_cashier, boxoffice_worker"),
    ("select, insert", "sync_conflicts", "boxoffice_cashier, boxoffice_worker"),
    # the gate
    ("update (status, used_at, used_gate)", "tickets", "boxoffice_gate"),
    ("insert", "checkins", "boxoffice_gate"),
    # the monitor (a supervisor signed in) and the worker's pricing job
    ("update (status)", "events", "boxoffice_monitor"),
    ("update (current_minor)", "price_tiers", "boxoffice_monitor, boxoffice_worker"),
    ("select, insert", "price_changes", "boxoffice_monitor, boxoffice_worker"),
    ("insert, update (active, params)", "pricing_rules", "boxoffice_monitor"),
    ("select, update (resolved_at, resolved_by)", "sync_conflicts", "boxoffice_monitor"),
    ("select", "cash_movements", "boxoffice_monitor"),
    ("select", "refunds", "boxoffice_monitor"),
    ("select", "lease_sales", "boxoffice_monitor"),
    ("select", "audit_log", "boxoffice_monitor"),
    ("select, update (sent_at, attempts)", "outbox", "boxoffice_worker"),
    ("select", "shifts", "boxoffice_worker"),
)

# Row-level security: a kiosk or a counter works on its own rows. Reads stay open where
# the flows read across terminals (availability, refunds of a kiosk's order at a counter).
POLICIES = """
alter table terminals enable row level security;
create policy bo_read on terminals for select to {all} using (true);
create policy bo_own on terminals for update to {all}
  using (id = (select bo_my_terminal())) with check (id = (select bo_my_terminal()));

alter table holds enable row level security;
create policy bo_read on holds for select to {all} using (true);
-- A hold lives at most a few hours (events allow 2 h plus extensions): a stolen login
-- cannot park the house's seats for a year.
create policy bo_own_insert on holds for insert to boxoffice_kiosk, boxoffice_cashier
  with check (terminal_id = (select bo_my_terminal())
              and expires_at <= now() + interval '6 hours');
-- Another terminal's hold may only be touched once it has run out (the inline reclaim).
create policy bo_own_update on holds for update to boxoffice_kiosk, boxoffice_cashier
  using (terminal_id = (select bo_my_terminal()) or expires_at <= now())
  with check ((terminal_id = (select bo_my_terminal())
               and expires_at <= now() + interval '6 hours') or status = 'expired');
create policy bo_any on holds for all to boxoffice_worker, boxoffice_monitor
  using (true) with check (true);

alter table shifts enable row level security;
create policy bo_own on shifts for all to boxoffice_cashier
  using (terminal_id = (select bo_my_terminal()))
  with check (terminal_id = (select bo_my_terminal())
              and operator_id is not null);
create policy bo_any on shifts for all to boxoffice_monitor, boxoffice_worker
  using (true) with check (true);

alter table sales enable row level security;
create policy bo_read on sales for select to {all} using (true);
-- A kiosk takes cards only, and only for itself.
create policy bo_kiosk on sales for insert to boxoffice_kiosk
  with check (terminal_id = (select bo_my_terminal()) and tender = 'card');
create policy bo_kiosk_update on sales for update to boxoffice_kiosk
  using (terminal_id = (select bo_my_terminal()))
  with check (terminal_id = (select bo_my_terminal()) and tender = 'card');
create policy bo_counter on sales for insert to boxoffice_cashier
  with check (terminal_id = (select bo_my_terminal()));
create policy bo_counter_update on sales for update to boxoffice_cashier
  using (true) with check (true);
create policy bo_any on sales for all to boxoffice_worker using (true) with check (true);

alter table orders enable row level security;
create policy bo_read on orders for select to {all} using (true);
create policy bo_own_insert on orders for insert to boxoffice_kiosk, boxoffice_cashier
  with check (terminal_id = (select bo_my_terminal()));
create policy bo_kiosk_update on orders for update to boxoffice_kiosk
  using (terminal_id = (select bo_my_terminal()));
create policy bo_counter_update on orders for update to boxoffice_cashier
  using (true) with check (true);
create policy bo_any on orders for all to boxoffice_worker using (true) with check (true);

alter table tickets enable row level security;
create policy bo_read on tickets for select to {all} using (true);
-- A ticket is signed by its own terminal's live key.
create policy bo_own_insert on tickets for insert
  to boxoffice_kiosk, boxoffice_cashier, boxoffice_worker
  with check (terminal_id = (select bo_my_terminal())
              and key_id in (select k.key_id from ticket_keys k
                             where k.terminal_id = (select bo_my_terminal())
                               and k.revoked_at is null));
create policy bo_kiosk_update on tickets for update to boxoffice_kiosk
  using (terminal_id = (select bo_my_terminal()));
create policy bo_update on tickets for update to boxoffice_cashier, boxoffice_gate
  using (true) with check (true);
create policy bo_any on tickets for update to boxoffice_worker using (true) with check (true);

-- Seat blocks are the monitor's: a seller may hold, sell and release, never block or
-- unblock a seat.
alter table event_seats enable row level security;
create policy bo_read on event_seats for select to {all} using (true);
create policy bo_sell on event_seats for update to boxoffice_kiosk, boxoffice_cashier,
  boxoffice_worker using (status <> 'blocked')
  with check (status <> 'blocked'
              and (hold_expires_at is null or hold_expires_at <= now() + interval '6 hours'));
create policy bo_any on event_seats for update to boxoffice_monitor using (true) with check (true);

-- Idempotency results: a terminal reads and finishes its own commands only (a replayed
-- result is trusted by the retrying terminal, so another's must not be able to poison it).
alter table command_log enable row level security;
create policy bo_own on command_log for all
  to boxoffice_kiosk, boxoffice_cashier, boxoffice_monitor, boxoffice_gate
  using (coalesce(terminal_id, -1) in ((select bo_my_terminal()), -1))
  with check (coalesce(terminal_id, -1) in ((select bo_my_terminal()), -1));
create policy bo_any on command_log for all to boxoffice_worker using (true) with check (true);

alter table leases enable row level security;
create policy bo_own on leases for all to boxoffice_cashier
  using (terminal_id = (select bo_my_terminal()))
  with check (terminal_id = (select bo_my_terminal()));
create policy bo_any on leases for all to boxoffice_monitor, boxoffice_worker
  using (true) with check (true);
"""


def _role_sql(name: str, member_of: str | None) -> str:
    grant = ""
    if member_of:
        grant = f"""
        begin
          grant {member_of} to {name};
        exception when duplicate_object or unique_violation or internal_error then null;
        end;"""
    return f"""
    do $$ begin
      if not exists (select 1 from pg_roles where rolname = '{name}') then
        begin
          create role {name} nologin inherit;
        exception when duplicate_object or unique_violation then null;
        end;
      end if;{grant}
    end $$;
    """


FUNCTIONS = r"""
create function bo_is_owner() returns boolean language sql stable
  set search_path = pg_catalog, public, pg_temp as $$
  select pg_has_role(session_user, '{owner}', 'MEMBER')
$$;

create function bo_my_terminal() returns integer language sql stable security definer
  set search_path = pg_catalog, public, pg_temp as $$
  select terminal_id from terminal_logins where login = session_user and revoked_at is null
$$;

-- The terminal a call acts for: the caller's own, whatever id it passed (the owner may
-- act for any terminal). Raises 42501 for a login that is not a live terminal.
create function bo_acting_terminal(p_terminal integer) returns integer language plpgsql
  stable security definer set search_path = pg_catalog, public, pg_temp as $$
declare t integer;
begin
  if bo_is_owner() then
    return p_terminal;
  end if;
  t := bo_my_terminal();
  if t is null then
    raise exception 'not_authorized' using errcode = '42501',
      detail = 'this login is not a provisioned terminal';
  end if;
  if p_terminal is not null and p_terminal <> t then
    raise exception 'foreign_terminal' using errcode = '42501',
      detail = format('terminal %s may not act as terminal %s', t, p_terminal);
  end if;
  return t;
end $$;

create function bo_hmac_pads(k bytea) returns bytea[] language plpgsql immutable
  set search_path = pg_catalog, pg_temp as $$
declare ipad bytea; opad bytea; i integer;
begin
  if length(k) > 64 then k := sha256(k); end if;
  k := k || decode(repeat('00', 64 - length(k)), 'hex');
  ipad := k; opad := k;
  for i in 0..63 loop
    ipad := set_byte(ipad, i, get_byte(k, i) # 54);
    opad := set_byte(opad, i, get_byte(k, i) # 92);
  end loop;
  return array[ipad, opad];
end $$;

create function bo_hmac(pads bytea[], m bytea) returns bytea language sql immutable
  set search_path = pg_catalog, pg_temp as $$
  select sha256(pads[2] || sha256(pads[1] || m))
$$;

create function bo_secret_pads(p_name text) returns bytea[] language sql stable
  set search_path = pg_catalog, public, pg_temp as $$
  select pads from bo_secrets where name = p_name
$$;

create or replace function audit_link(p_chain text, p_action text, p_payload text)
returns bigint language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare
  h record;
  v_seq bigint;
  v_at bigint;
  v_hash bytea;
  v_pads bytea[];
begin
  -- Inlined (no helper calls): this runs once per command on the hot path.
  if not pg_has_role(session_user, '{owner}', 'MEMBER') then
    if p_chain is distinct from (select name from terminals where id = bo_acting_terminal(null))
    then
      raise exception 'foreign_terminal' using errcode = '42501',
        detail = 'a terminal appends to its own audit chain only';
    end if;
  end if;
  select seq, hash into h from audit_heads where chain = p_chain for update;
  if not found then
    insert into audit_heads (chain, seq, hash)
    values (p_chain, 0, decode(repeat('00', 32), 'hex'))
    on conflict (chain) do nothing;
    select seq, hash into h from audit_heads where chain = p_chain for update;
  end if;
  select s.pads into v_pads from bo_secrets s where s.name = 'audit_key';
  v_seq := h.seq + 1;
  v_at := floor(extract(epoch from now()) * 1000000)::bigint;
  -- HMAC-SHA256 with the key's precomputed inner and outer pads.
  v_hash := sha256(v_pads[2] || sha256(v_pads[1] || h.hash
            || convert_to('|' || v_seq || '|' || v_at || '|' || p_action || '|' || p_payload,
                          'UTF8')));
  update audit_heads set seq = v_seq, hash = v_hash where chain = p_chain;
  insert into audit_log (chain, seq, at_us, action, payload, prev_hash, hash)
  values (p_chain, v_seq, v_at, p_action, p_payload, h.hash, v_hash);
  return v_seq;
end $$;

-- No session setting unlocks the log for anyone but the owner.
create or replace function audit_log_append_only() returns trigger language plpgsql
set search_path = pg_catalog, public, pg_temp as $$
begin
  if bo_is_owner() and current_setting('boxoffice.audit_maintenance', true) = 'on' then
    return coalesce(new, old);
  end if;
  raise exception 'audit_log is append-only' using errcode = '42501';
end $$;
create trigger audit_log_no_truncate before truncate on audit_log
  for each statement execute function audit_log_append_only();
create trigger audit_heads_no_truncate before truncate on audit_heads
  for each statement execute function audit_log_append_only();

-- PINs: a keyed digest computed here, with a pepper no terminal can read. A 4-digit PIN
-- space falls to any offline search, so what protects it is that neither the hash nor
-- the pepper ever leaves the database, and the lock-out below.
create function bo_pin_digest(p_salt bytea, p_pin text) returns bytea language sql stable
  set search_path = pg_catalog, public, pg_temp as $$
  select bo_hmac(bo_secret_pads('pin_pepper'), p_salt || convert_to(coalesce(p_pin, ''), 'UTF8'))
$$;

create function bo_hash_pin(p_pin text) returns text language plpgsql volatile
  set search_path = pg_catalog, public, pg_temp as $$
declare salt bytea;
begin
  if p_pin is null or p_pin !~ '^[0-9]{4,12}$' then
    raise exception 'invalid_input' using errcode = '22023', detail = 'A PIN is 4 to 12 digits.';
  end if;
  salt := decode(replace(gen_random_uuid()::text, '-', ''), 'hex');
  return 'bo1$' || encode(salt, 'hex') || '$' || encode(bo_pin_digest(salt, p_pin), 'hex');
end $$;

create function bo_pin_matches(p_hash text, p_pin text) returns boolean language plpgsql
  stable set search_path = pg_catalog, public, pg_temp as $$
declare parts text[]; want bytea; got bytea;
begin
  parts := string_to_array(coalesce(p_hash, 'bo1$00$00'), '$');
  if parts[1] <> 'bo1' or array_length(parts, 1) <> 3 then
    parts := array['bo1', '00000000000000000000000000000000', '00'];
  end if;
  want := decode(parts[3], 'hex');
  got := bo_pin_digest(decode(parts[2], 'hex'), p_pin);
  return got = want and p_hash like 'bo1$%';
end $$;

create function bo_set_operator(p_login text, p_display_name text, p_role text, p_pin text)
returns integer language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare v_id integer;
begin
  if not bo_is_owner() then
    raise exception 'not_authorized' using errcode = '42501';
  end if;
  insert into operators (login, display_name, role, pin_hash, failed_attempts, active)
  values (p_login, p_display_name, p_role, bo_hash_pin(p_pin), 0, true)
  on conflict (login) do update set display_name = excluded.display_name,
                                    role = excluded.role
  returning id into v_id;
  return v_id;
end $$;

-- Staff management is the owner's and the back office's admin logins' (boxoffice_admin):
-- PINs are hashed here, so no terminal ever writes (or reads) a PIN hash.
create function bo_reset_pin(p_operator integer, p_pin text) returns void language plpgsql
security definer set search_path = pg_catalog, public, pg_temp as $$
begin
  if not bo_is_owner() and not pg_has_role(session_user, 'boxoffice_admin', 'MEMBER') then
    raise exception 'not_authorized' using errcode = '42501';
  end if;
  update operators set pin_hash = bo_hash_pin(p_pin), failed_attempts = 0, lockouts = 0,
                       locked_until = null where id = p_operator;
end $$;

-- A new operator; null when the login is taken.
create function bo_add_operator(p_login text, p_display_name text, p_role text, p_pin text)
returns integer language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare v_id integer;
begin
  if not bo_is_owner() and not pg_has_role(session_user, 'boxoffice_admin', 'MEMBER') then
    raise exception 'not_authorized' using errcode = '42501';
  end if;
  insert into operators (login, display_name, role, pin_hash, failed_attempts, active)
  values (p_login, p_display_name, p_role, bo_hash_pin(p_pin), 0, true)
  on conflict (login) do nothing
  returning id into v_id;
  return v_id;
end $$;

-- One answer for every sign-in: status ok | invalid_pin | operator_locked | legacy_hash.
-- Failures are counted (and committed) by the function itself; five in a row lock the
-- login for 5 minutes, each further lock-out twice as long (at most a day). An unknown
-- login walks the same path on a row of its own, so it neither answers faster nor
-- escapes the lock-out (no probing which logins exist). A supervisor's or admin's
-- success also returns a one-use proof that its PIN was typed, which an approval needs.
create function bo_authenticate(p_login text, p_pin text)
returns table (status text, operator_id integer, login text, display_name text,
               role text, locked_until timestamptz, proof uuid)
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  r record;
  v_ok boolean;
  v_failures integer;
  v_lockouts integer;
  v_until timestamptz;
  v_proof uuid;
  v_term integer := bo_my_terminal();
begin
  if not bo_is_owner() and v_term is null then
    raise exception 'not_authorized' using errcode = '42501';
  end if;
  select o.id, o.login, o.display_name, o.role, o.pin_hash, o.failed_attempts, o.lockouts,
         o.locked_until, o.active
    into r from operators o where o.login = p_login for update;
  if not found or not r.active then
    insert into bo_pin_probes as p (login) values (left(coalesce(p_login, ''), 80))
      on conflict on constraint bo_pin_probes_pkey do nothing;
    select p.login, p.failures as failed_attempts, p.lockouts, p.locked_until, null::text as pin_hash
      into r from bo_pin_probes p where p.login = left(coalesce(p_login, ''), 80) for update;
    v_ok := bo_pin_matches(null, p_pin) and false;
    if r.locked_until > now() then
      return query select 'operator_locked', null::integer, null::text, null::text, null::text,
                          r.locked_until, null::uuid;
      return;
    end if;
    v_failures := r.failed_attempts + 1;
    v_lockouts := r.lockouts;
    v_until := null;
    if v_failures >= 5 then
      v_lockouts := v_lockouts + 1; v_failures := 0;
      v_until := now() + make_interval(mins => least(5 * power(2, v_lockouts - 1), 1440)::int);
    end if;
    update bo_pin_probes p set failures = v_failures, lockouts = v_lockouts,
                               locked_until = coalesce(v_until, p.locked_until)
      where p.login = r.login;
    return query select 'invalid_pin', null::integer, null::text, null::text, null::text,
                        null::timestamptz, null::uuid;
    return;
  end if;
  if r.pin_hash like '$argon2%' then
    return query select 'legacy_hash', r.id, r.login::text, r.display_name::text,
                        r.role::text, null::timestamptz, null::uuid;
    return;
  end if;
  v_ok := bo_pin_matches(r.pin_hash, p_pin);
  if r.locked_until > now() then
    return query select 'operator_locked', null::integer, null::text, null::text, null::text,
                        r.locked_until, null::uuid;
    return;
  end if;
  if not v_ok then
    v_failures := r.failed_attempts + 1;
    v_lockouts := r.lockouts;
    v_until := null;
    if v_failures >= 5 then
      v_lockouts := v_lockouts + 1; v_failures := 0;
      v_until := now() + make_interval(mins => least(5 * power(2, v_lockouts - 1), 1440)::int);
    end if;
    update operators o set failed_attempts = v_failures, lockouts = v_lockouts,
                           locked_until = coalesce(v_until, o.locked_until)
      where o.id = r.id;
    if v_term is not null and (select kind from terminals where id = v_term) = 'kiosk' then
      -- The monitor shows failed staff PINs on a kiosk (someone trying the floor).
      perform audit_link((select name from terminals where id = v_term), 'pin_failed',
                         json_build_object('login', r.login, 'lockout', v_until is not null)::text);
    end if;
    return query select 'invalid_pin', null::integer, null::text, null::text, null::text,
                        null::timestamptz, null::uuid;
    return;
  end if;
  update operators o set failed_attempts = 0, lockouts = 0 where o.id = r.id
    and (o.failed_attempts <> 0 or o.lockouts <> 0);
  if r.role in ('supervisor', 'admin') then
    v_proof := gen_random_uuid();
    insert into bo_approval_proofs (token, operator_id, login, expires_at)
    values (v_proof, r.id, session_user, now() + interval '10 minutes');
  end if;
  return query select 'ok', r.id, r.login::text, r.display_name::text, r.role::text,
                      null::timestamptz, v_proof;
end $$;

-- Dual control, checked here: the approver is an active supervisor/admin who typed the
-- PIN on this login (a one-use proof from bo_authenticate), and is not the operator who
-- asked, nor the operator whose shift is being approved.
create function bo_record_approval(p_id uuid, p_kind text, p_terminal integer,
                                   p_requested_by integer, p_approved_by integer,
                                   p_reason text, p_entity text, p_entity_id text,
                                   p_amount bigint, p_proof uuid)
returns uuid language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare
  v_term integer := bo_acting_terminal(p_terminal);
  v_role text;
  v_owner_of integer;
begin
  select o.role into v_role from operators o where o.id = p_approved_by and o.active;
  if v_role is null or v_role not in ('supervisor', 'admin') then
    raise exception 'not_authorized' using errcode = '42501',
      detail = 'the approver is not an active supervisor';
  end if;
  if p_kind = 'shift_variance' then
    select s.operator_id into v_owner_of from shifts s where s.id = p_entity_id::uuid;
  end if;
  if p_approved_by = p_requested_by or p_approved_by = v_owner_of then
    raise exception 'self_approval' using errcode = '42501';
  end if;
  if not bo_is_owner() then
    update bo_approval_proofs a set used_at = now()
      where a.token = p_proof and a.operator_id = p_approved_by and a.login = session_user
        and a.used_at is null and a.expires_at > now();
    if not found then
      raise exception 'not_authorized' using errcode = '42501',
        detail = 'no fresh supervisor PIN for this approval';
    end if;
  end if;
  insert into approvals (id, kind, terminal_id, requested_by, approved_by, reason_code,
                         entity, entity_id, amount_minor)
  values (p_id, p_kind, v_term, p_requested_by, p_approved_by, p_reason, p_entity,
          p_entity_id, p_amount);
  return p_id;
end $$;

-- A terminal's row and audit chain. The owner registers any terminal; a terminal login
-- only finds its own (terminals are provisioned by the owner, never by themselves).
create function bo_register_terminal(p_name text, p_kind text) returns integer
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare v_id integer;
begin
  if bo_is_owner() then
    insert into terminals (name, kind, state) values (p_name, p_kind, '{{}}'::jsonb)
    on conflict (name) do update set kind = excluded.kind
    returning id into v_id;
  else
    v_id := bo_acting_terminal(null);
    if (select name from terminals where id = v_id) is distinct from p_name then
      raise exception 'foreign_terminal' using errcode = '42501',
        detail = format('this login is not terminal %s', p_name);
    end if;
  end if;
  insert into audit_heads (chain, seq, hash) values (p_name, 0, decode(repeat('00', 32), 'hex'))
  on conflict (chain) do nothing;
  return v_id;
end $$;

-- A ticket-signing key. The owner registers any; a terminal login enrolls its first key
-- only (trust on first use after `terminal add`): a thief cannot swap in a key of their
-- own, and a revoked key is never accepted again.
create function bo_register_ticket_key(p_terminal integer, p_key_id text, p_public bytea)
returns void language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare
  v_term integer := bo_acting_terminal(p_terminal);
  k record;
begin
  select * into k from ticket_keys where key_id = p_key_id;
  if found then
    if k.terminal_id <> v_term or k.public_key <> p_public then
      raise exception 'ticket_key_conflict' using errcode = '42501';
    end if;
    if k.revoked_at is not null then
      raise exception 'ticket_key_revoked' using errcode = '42501';
    end if;
  else
    if not bo_is_owner() and exists (select 1 from ticket_keys t where t.terminal_id = v_term) then
      raise exception 'not_authorized' using errcode = '42501',
        detail = 'a new signing key for this terminal needs the owner (boxoffice terminal add)';
    end if;
    insert into ticket_keys (key_id, terminal_id, public_key) values (p_key_id, v_term, p_public)
    on conflict (key_id) do nothing;
    if (select terminal_id from ticket_keys where key_id = p_key_id) <> v_term then
      raise exception 'ticket_key_conflict' using errcode = '42501';
    end if;
  end if;
  update ticket_keys set retired_at = now()
    where terminal_id = v_term and key_id <> p_key_id and retired_at is null;
  update terminals set public_key = p_public, key_id = p_key_id
    where id = (select id from terminals where id = v_term and key_id is distinct from p_key_id
                for update skip locked);
end $$;
"""

# Status changes a terminal may never make, whatever its column grants: a refunded or
# canceled order does not become paid again, a used or void ticket does not become valid.
GUARDS = """
create function bo_guard_status() returns trigger language plpgsql
set search_path = pg_catalog, public, pg_temp as $$
begin
  if bo_is_owner() then
    return new;
  end if;
  -- A second copy onwards needs a supervisor's approval recorded in this transaction
  -- (bo_record_approval; now() is the transaction's start, the row's created_at too).
  if tg_table_name = 'tickets' then
    if new.reprint_count > old.reprint_count and new.reprint_count >= 2 and not exists (
         select 1 from approvals a where a.kind = 'reprint' and a.entity = 'ticket'
           and a.entity_id = new.serial::text and a.created_at = now()) then
      raise exception 'not_authorized' using errcode = '42501',
        detail = 'a reprint after the first needs a supervisor';
    end if;
  end if;
  if new.status = old.status then
    return new;
  end if;
  if (tg_table_name = 'orders' and (new.status = 'paid' or old.status in ('refunded', 'canceled')))
     or (tg_table_name = 'tickets' and new.status = 'valid') then
    raise exception 'status_change_refused' using errcode = '42501',
      detail = format('%s %s -> %s', tg_table_name, old.status, new.status);
  end if;
  return new;
end $$;
create trigger bo_guard before update on orders
  for each row execute function bo_guard_status();
create trigger bo_guard before update on tickets
  for each row execute function bo_guard_status();
"""

# The confirm step (seats sold, order paid) and ticket issuing run in the database, where
# a terminal cannot skip a check: the hold is the caller's and live by the database
# clock, the amounts are the hold's quoted prices, and the payment is one the sale row
# recorded before (a card: an authorized payment row with its gateway reference,
# written in an earlier transaction; cash: a cashier with an open shift of its own).
# Terminals no longer write orders, order lines or tickets of online sales themselves.
# Refusals carry the error code as the message and its details as JSON.
SALES = r"""
create function bo_confirm_sale(p_hold uuid, p_order uuid, p_terminal integer,
                                p_operator integer, p_payment_ref text, p_sale uuid,
                                p_shift uuid, p_customer text, p_expected bigint,
                                p_any_hold boolean)
returns table (number bigint, line_id bigint, section_id integer, seat_id bigint,
               qty integer, unit_price_minor bigint, tier_id integer, event_id integer,
               total_minor bigint, currency text)
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
#variable_conflict use_column
declare
  v_owner boolean := bo_is_owner();
  v_term integer := bo_acting_terminal(p_terminal);
  h record;
  s record;
  v_total bigint;
  v_wanted bigint[];
  v_seats bigint[];
begin
  select hh.*, hh.expires_at <= now() as expired into h from holds hh
    where hh.id = p_hold for update;
  if not found then
    raise exception 'unknown_hold' using detail = json_build_object('hold_id', p_hold)::text;
  end if;
  -- The owner's tools may confirm any terminal's hold (a supervisor's, the worker's).
  if h.terminal_id <> v_term and not (v_owner and p_any_hold) then
    raise exception 'foreign_hold' using errcode = '42501';
  end if;
  if h.status <> 'active' then
    raise exception 'hold_not_active' using detail = json_build_object('status', h.status)::text;
  end if;
  if h.expired then
    raise exception 'hold_expired';
  end if;
  select coalesce(sum(hi.qty * hi.unit_price_minor), 0) into v_total
    from hold_items hi where hi.hold_id = p_hold;
  if v_total <> h.total_minor or (p_expected is not null and p_expected <> v_total) then
    raise exception 'amount_mismatch' using detail = json_build_object(
      'amount', coalesce(p_expected, h.total_minor), 'total', v_total)::text;
  end if;
  if p_sale is null then
    -- No sale: a supervisor's comp (nothing to pay), or the owner's own tools.
    if not v_owner and not (p_payment_ref = 'comp' and v_total = 0
                            and pg_has_role(session_user, 'boxoffice_monitor', 'MEMBER')) then
      raise exception 'payment_unverified' using errcode = '42501',
        detail = '{"reason": "no sale"}';
    end if;
  else
    select * into s from sales where id = p_sale for update;
    if not found or s.hold_id <> p_hold or s.terminal_id <> h.terminal_id
       or s.amount_minor <> v_total or s.currency <> h.currency then
      raise exception 'payment_unverified' using errcode = '42501',
        detail = '{"reason": "sale does not match the hold"}';
    end if;
    if s.tender = 'card' then
      if s.state <> 'authorized' or s.intent_id is distinct from p_payment_ref
         or not exists (select 1 from payments p where p.sale_id = p_sale
                          and p.kind = 'charge' and p.method = 'card'
                          and p.status = 'authorized' and p.gateway_ref = p_payment_ref
                          and p.amount_minor = v_total and p.created_at < now()) then
        raise exception 'payment_unverified' using errcode = '42501',
          detail = '{"reason": "no authorization recorded"}';
      end if;
    else
      if not v_owner and (select l.kind from terminal_logins l
                          where l.login = session_user) is distinct from 'cashier' then
        raise exception 'cash_not_accepted' using errcode = '42501';
      end if;
      if p_payment_ref is distinct from 'cash:' || p_sale or not exists (
           select 1 from shifts sh where sh.id = p_shift and sh.id = s.shift_id
             and sh.terminal_id = h.terminal_id and sh.status = 'open') then
        raise exception 'payment_unverified' using errcode = '42501',
          detail = '{"reason": "no open shift of this terminal"}';
      end if;
    end if;
  end if;
  select array_agg(hi.seat_id order by hi.seat_id) into v_wanted
    from hold_items hi where hi.hold_id = p_hold and hi.seat_id is not null;
  select array_agg(x.seat_id order by x.seat_id) into v_seats from (
    select es.seat_id from event_seats es
    join hold_items hi on hi.event_id = es.event_id and hi.seat_id = es.seat_id
    where hi.hold_id = p_hold and es.hold_id = p_hold and es.status = 'held'
    order by es.event_id, es.seat_id
    for update of es) x;
  if coalesce(v_seats, '{}') <> coalesce(v_wanted, '{}') then
    raise exception 'hold_expired';
  end if;
  if v_seats is not null then
    update event_seats es set status = 'sold', order_id = p_order, hold_id = null,
      hold_expires_at = null, version = es.version + 1
    where es.event_id = h.event_id and es.seat_id = any(v_seats) and es.hold_id = p_hold;
  end if;
  update ga_inventory gi set held = gi.held - x.qty, sold = gi.sold + x.qty,
                             version = gi.version + 1
  from (select hi.event_id, hi.section_id, sum(hi.qty) as qty from hold_items hi
        where hi.hold_id = p_hold and hi.seat_id is null
        group by hi.event_id, hi.section_id) x
  where gi.event_id = x.event_id and gi.section_id = x.section_id;
  update holds set status = 'confirmed', ended_at = now() where id = p_hold;
  return query
  with o as (
    insert into orders (id, event_id, hold_id, terminal_id, operator_id, shift_id, status,
                        total_minor, currency, payment_ref, customer_name)
    values (p_order, h.event_id, p_hold, v_term, p_operator, p_shift, 'paid', v_total,
            h.currency, p_payment_ref, p_customer)
    returning id, number
  ),
  l as (
    insert into order_lines (order_id, event_id, section_id, seat_id, qty, unit_price_minor,
                             tier_id, status)
    select p_order, hi.event_id, hi.section_id, hi.seat_id, hi.qty, hi.unit_price_minor,
           hi.tier_id, 'sold'
    from hold_items hi where hi.hold_id = p_hold
    returning id, section_id, seat_id, qty, unit_price_minor, tier_id
  ),
  p as (
    update payments pp set order_id = o.id from o
    where pp.sale_id = p_sale and pp.order_id is null
  )
  select o.number, l.id, l.section_id, l.seat_id, l.qty, l.unit_price_minor, l.tier_id,
         h.event_id, v_total, h.currency::text
  from o, l order by l.seat_id nulls last, l.id;
end $$;

-- The tickets of a paid order, all at once (none issued before), one per unit of its
-- lines, signed by the caller's own live key. The terminal signs the tokens (its private
-- key never leaves it); every other field comes from the order's lines.
create function bo_issue_tickets(p_order uuid, p_terminal integer, p_operator integer,
                                 p_key_id text, p_lines bigint[], p_units integer[],
                                 p_serials bigint[], p_tokens text[])
returns integer language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare
  v_owner boolean := bo_is_owner();
  v_term integer := bo_acting_terminal(p_terminal);
  o record;
  v_units bigint;
  v_n integer;
begin
  select * into o from orders where id = p_order for update;
  if not found then
    raise exception 'unknown_order' using detail = json_build_object('order_id', p_order)::text;
  end if;
  if not v_owner and (o.terminal_id <> v_term or not exists (
       select 1 from ticket_keys k where k.key_id = p_key_id and k.terminal_id = v_term
         and k.revoked_at is null)) then
    raise exception 'not_authorized' using errcode = '42501',
      detail = 'tickets of another terminal''s order, or a key not this terminal''s';
  end if;
  if o.status <> 'paid' or exists (select 1 from tickets t where t.order_id = p_order) then
    raise exception 'not_authorized' using errcode = '42501',
      detail = 'tickets only for a paid order without tickets';
  end if;
  select coalesce(sum(ol.qty), 0) into v_units from order_lines ol
    where ol.order_id = p_order and ol.status = 'sold';
  insert into tickets (serial, order_id, line_id, unit, event_id, section_id, seat_id,
                       unit_price_minor, currency, tier_id, key_id, token, terminal_id,
                       operator_id, status, print_count, reprint_count, issued_at)
  select u.serial, p_order, ol.id, u.unit, ol.event_id, ol.section_id, ol.seat_id,
         ol.unit_price_minor, o.currency, ol.tier_id, p_key_id, u.token, v_term, p_operator,
         'valid', 0, 0, now()
  from unnest(p_lines, p_units, p_serials, p_tokens) as u(line_id, unit, serial, token)
  join order_lines ol on ol.id = u.line_id and ol.order_id = p_order and ol.status = 'sold'
    and u.unit between 1 and ol.qty;
  get diagnostics v_n = row_count;
  if v_n <> v_units or v_n <> coalesce(array_length(p_serials, 1), 0) then
    raise exception 'invalid_input' using errcode = '22023',
      detail = 'one ticket per unit of the order''s lines';
  end if;
  return v_n;
end $$;

-- Self-exclusion: the list holds HMACs of the normalized identifier with a key only the
-- owner reads (an 11-digit CPF under bare SHA-256 reverses in minutes). Terminals ask
-- yes or no; only the owner's tools add (``boxoffice kiosk exclude``). A digest from
-- before this migration (bare SHA-256) still matches until the person is re-entered.
create function bo_exclusion_digest(p_norm text) returns bytea language sql stable
  set search_path = pg_catalog, public, pg_temp as $$
  select bo_hmac(bo_secret_pads('exclusion_key'), convert_to(p_norm, 'UTF8'))
$$;
create function bo_is_excluded(p_norm text) returns boolean language sql stable
  security definer set search_path = pg_catalog, public, pg_temp as $$
  select exists (select 1 from self_exclusions
                 where identifier_hash in (bo_exclusion_digest(p_norm),
                                           sha256(convert_to(p_norm, 'UTF8')))
                   and (until is null or until > now()))
$$;

-- Prices of a seller's hold come from the price tiers, whatever its statement says
-- (stable: read in the statement's snapshot, the same one the hold's total was read in).
-- A monitor's comp keeps its zero price; a lease's hold is only a record there (its
-- order lines carry the lease's quoted prices).
create function bo_quoted_price() returns trigger language plpgsql stable
set search_path = pg_catalog, public, pg_temp as $$
begin
  select pt.current_minor, pt.id into new.unit_price_minor, new.tier_id
    from price_tiers pt where pt.event_id = new.event_id and pt.section_id = new.section_id;
  if not found then
    raise exception 'not_authorized' using errcode = '42501', detail = 'no price tier';
  end if;
  return new;
end $$;
create trigger bo_quoted_price before insert on hold_items for each row
  when (not pg_has_role(current_user, '{owner}', 'MEMBER')
        and (pg_has_role(current_user, 'boxoffice_kiosk', 'MEMBER')
             or pg_has_role(current_user, 'boxoffice_cashier', 'MEMBER')))
  execute function bo_quoted_price();

-- Places become sold only inside bo_confirm_sale (which runs as the owner), or from a
-- counter's own lease (offline sales); sold places go back only by a refund at a
-- counter, the worker, or a kiosk cancelling its own order (a refused capture).
-- The WHEN clauses keep the hold path (available <-> held) free of any trigger call.
create function bo_guard_inventory() returns trigger language plpgsql
set search_path = pg_catalog, public, pg_temp as $$
declare
  v_seller boolean := pg_has_role(current_user, 'boxoffice_kiosk', 'MEMBER')
                      or pg_has_role(current_user, 'boxoffice_cashier', 'MEMBER');
begin
  if pg_has_role(current_user, '{owner}', 'MEMBER')
     or pg_has_role(current_user, 'boxoffice_worker', 'MEMBER') then
    return new;
  end if;
  if tg_table_name = 'event_seats' then
    if new.status = 'sold' and old.status <> 'sold' then
      if old.status = 'leased' and new.lease_id is not distinct from old.lease_id
         and pg_has_role(current_user, 'boxoffice_cashier', 'MEMBER') then
        return new;
      end if;
    elsif old.status = 'sold' and new.status <> 'sold' then
      if pg_has_role(current_user, 'boxoffice_cashier', 'MEMBER')
         or pg_has_role(current_user, 'boxoffice_monitor', 'MEMBER') or (v_seller and exists (
           select 1 from orders o where o.id = old.order_id
             and o.terminal_id = bo_my_terminal() and o.status = 'canceled')) then
        return new;
      end if;
    else
      return new;
    end if;
  else  -- ga_inventory: sold grows only from a counter's own lease (leased -> sold)
    if new.sold - old.sold = old.leased - new.leased
       and pg_has_role(current_user, 'boxoffice_cashier', 'MEMBER') then
      return new;
    end if;
  end if;
  raise exception 'status_change_refused' using errcode = '42501',
    detail = format('%s: sold places change in bo_confirm_sale', tg_table_name);
end $$;
create trigger bo_guard_sold before update on event_seats for each row
  when ((new.status = 'sold') <> (old.status = 'sold')) execute function bo_guard_inventory();
create trigger bo_guard_sold before update on ga_inventory for each row
  when (new.sold > old.sold) execute function bo_guard_inventory();

-- A counter still writes the orders, lines and tickets of its offline sales (from its
-- own lease, synced later): nothing else. Checked at the end of the statement, when the
-- lease_sales row of the same statement is visible.
create function bo_guard_direct_sale() returns trigger language plpgsql
set search_path = pg_catalog, public, pg_temp as $$
declare v_order uuid;
begin
  if pg_has_role(current_user, '{owner}', 'MEMBER')
     or pg_has_role(current_user, 'boxoffice_worker', 'MEMBER') then
    return null;
  end if;
  v_order := case tg_table_name when 'orders' then (to_jsonb(new) ->> 'id')::uuid
                                else (to_jsonb(new) ->> 'order_id')::uuid end;
  if not exists (select 1 from lease_sales ls join leases l on l.id = ls.lease_id
                 where ls.order_id = v_order and l.terminal_id = bo_my_terminal()) then
    raise exception 'not_authorized' using errcode = '42501',
      detail = format('%s of a sale are written by bo_confirm_sale', tg_table_name);
  end if;
  return null;
end $$;
create trigger bo_guard_direct after insert on orders for each row
  execute function bo_guard_direct_sale();
create trigger bo_guard_direct after insert on order_lines for each row
  execute function bo_guard_direct_sale();
create trigger bo_guard_direct after insert on tickets for each row
  execute function bo_guard_direct_sale();

-- A payment row of a sale is the selling terminal's own; a kiosk records card charges only.
alter table payments enable row level security;
create policy bo_read on payments for select to {all} using (true);
create policy bo_kiosk on payments for insert to boxoffice_kiosk
  with check (method = 'card' and kind = 'charge' and sale_id in (
    select id from sales where terminal_id = (select bo_my_terminal())));
create policy bo_kiosk_update on payments for update to boxoffice_kiosk
  using (sale_id in (select id from sales where terminal_id = (select bo_my_terminal())));
create policy bo_counter on payments for insert to boxoffice_cashier
  with check (sale_id is null or sale_id in (
    select id from sales where terminal_id = (select bo_my_terminal())));
create policy bo_counter_update on payments for update to boxoffice_cashier
  using (true) with check (true);
create policy bo_any on payments for all to boxoffice_worker using (true) with check (true);
"""

DEFINERS = {
    "bo_my_terminal()": ALL,
    "bo_acting_terminal(integer)": ALL,
    "bo_is_owner()": ALL,
    "audit_link(text, text, text)": ALL,
    "bo_authenticate(text, text)": ALL,
    "bo_record_approval(uuid, text, integer, integer, integer, text, text, text, bigint, uuid)":
        "boxoffice_cashier, boxoffice_monitor",
    "bo_register_terminal(text, text)": ALL,
    "bo_register_ticket_key(integer, text, bytea)": SELLERS,
    "bo_reset_pin(integer, text)": ADMIN,
    "bo_add_operator(text, text, text, text)": ADMIN,
}
# Created after the grants and guards (their triggers reference the tables' policies).
SALES_DEFINERS = {
    "bo_is_excluded(text)": ALL,
    "bo_confirm_sale(uuid, uuid, integer, integer, text, uuid, uuid, text, bigint,"
    " boolean)":
        SELLERS + ", boxoffice_monitor",
    "bo_issue_tickets(uuid, integer, integer, text, bigint[], integer[], bigint[], text[])":
        SELLERS + ", boxoffice_monitor",
}


def upgrade() -> None:
    owner = op.get_bind().exec_driver_sql("select current_user").scalar_one()
    op.execute(_role_sql(BASE, None))
    for g in GROUPS:
        op.execute(_role_sql(g, BASE))
    op.execute(_role_sql(ADMIN, "boxoffice_monitor"))
    # Nothing in this database for PUBLIC: not a connection, not a table, not a function.
    op.execute("""
        do $$ begin
          execute format('revoke connect, temporary on database %I from public',
                         current_database());
        end $$;
        revoke create on schema public from public;
        revoke all on all tables in schema public from public;
        revoke all on all sequences in schema public from public;
        revoke execute on all functions in schema public from public;
        alter default privileges revoke execute on functions from public;
        alter default privileges revoke all on tables from public;
    """)
    op.execute(f"grant usage on schema public to {BASE}")
    op.execute("""
        create table terminal_logins (
          login name primary key,
          terminal_id integer not null unique references terminals (id),
          kind varchar(10) not null,
          created_at timestamptz not null default now(),
          revoked_at timestamptz
        );
        create table bo_secrets (name text primary key, value bytea not null, pads bytea[]);
        create table bo_pin_probes (
          login varchar(80) primary key,
          failures integer not null default 0,
          lockouts integer not null default 0,
          locked_until timestamptz
        );
        create table bo_approval_proofs (
          token uuid primary key,
          operator_id integer not null references operators (id),
          login name not null,
          expires_at timestamptz not null,
          used_at timestamptz
        );
        alter table operators add column lockouts integer not null default 0;
        alter table ticket_keys add column revoked_at timestamptz;
        -- 64 random bytes from the server's strong random source.
        insert into bo_secrets (name, value)
        select n, decode(replace(gen_random_uuid()::text || gen_random_uuid()::text
                                 || gen_random_uuid()::text || gen_random_uuid()::text,
                                 '-', ''), 'hex')
        from unnest(array['audit_key', 'pin_pepper', 'snapshot_seed', 'exclusion_key']) n;
    """)
    op.execute(FUNCTIONS.replace("{owner}", owner).replace("{{}}", "{}"))
    op.execute("update bo_secrets set pads = bo_hmac_pads(value)")
    # Re-link every existing chain with the key, so one rule verifies all rows.
    op.execute("""
        do $$
        declare r record; prev bytea; cur_chain text := null; pads bytea[];
        begin
          set local boxoffice.audit_maintenance = 'on';
          select bo_secret_pads('audit_key') into pads;
          for r in select id, chain, seq, at_us, action, payload from audit_log
                   order by chain, seq loop
            if cur_chain is distinct from r.chain then
              prev := decode(repeat('00', 32), 'hex'); cur_chain := r.chain;
            end if;
            update audit_log set prev_hash = prev,
              hash = bo_hmac(pads, prev || convert_to('|' || r.seq || '|' || r.at_us || '|'
                                                      || r.action || '|' || r.payload, 'UTF8'))
              where id = r.id returning hash into prev;
            update audit_heads set hash = prev where chain = r.chain and seq = r.seq;
          end loop;
        end $$;
    """)
    op.execute("revoke execute on all functions in schema public from public")
    for fn, groups in DEFINERS.items():
        op.execute(f"grant execute on function {fn} to {groups}")
    for table in CATALOGUE:
        op.execute(f"grant select on {table} to {BASE}")
    op.execute(f"grant select ({OPERATOR_COLUMNS}) on operators to {BASE}")
    op.execute(f"grant usage on sequence ticket_serial_seq to {SELLERS}")
    # Serial keys of the tables a kind inserts into.
    op.execute("grant usage on sequence pricing_rules_id_seq to boxoffice_monitor")
    op.execute("grant usage on sequence price_changes_id_seq"
               " to boxoffice_monitor, boxoffice_worker")
    # An offline lease reserves its order numbers ahead (nextval on the identity).
    op.execute("""
        do $$ begin
          execute format('grant usage on sequence %s to boxoffice_cashier, boxoffice_worker',
                         pg_get_serial_sequence('orders', 'number'));
        end $$;
    """)
    for privs, table, groups in GRANTS:
        op.execute(f"grant {privs} on {table} to {groups}")
    op.execute(POLICIES.replace("{all}", ALL))
    op.execute(GUARDS)
    op.execute(SALES.replace("{owner}", owner).replace("{all}", ALL))
    for fn, groups in SALES_DEFINERS.items():
        op.execute(f"revoke execute on function {fn} from public")
        op.execute(f"grant execute on function {fn} to {groups}")


def downgrade() -> None:
    op.execute("""
        drop trigger if exists bo_guard_direct on tickets;
        drop trigger if exists bo_guard_direct on order_lines;
        drop trigger if exists bo_guard_direct on orders;
        drop trigger if exists bo_guard_sold on ga_inventory;
        drop trigger if exists bo_guard_sold on event_seats;
        drop trigger if exists bo_quoted_price on hold_items;
        drop function if exists bo_guard_direct_sale();
        drop function if exists bo_guard_inventory();
        drop function if exists bo_quoted_price();
        drop function if exists bo_is_excluded(text);
        drop function if exists bo_exclusion_digest(text);
        drop function if exists bo_issue_tickets(uuid, integer, integer, text, bigint[],
                                                 integer[], bigint[], text[]);
        drop function if exists bo_confirm_sale(uuid, uuid, integer, integer, text, uuid, uuid,
                                                text, bigint, boolean);
    """)
    for table in ("terminals", "holds", "shifts", "sales", "orders", "tickets", "leases",
                  "command_log", "event_seats", "payments"):
        for pol in ("bo_read", "bo_own", "bo_own_insert", "bo_own_update", "bo_any", "bo_sell",
                    "bo_kiosk", "bo_kiosk_update", "bo_counter", "bo_counter_update",
                    "bo_update"):
            op.execute(f"drop policy if exists {pol} on {table}")
        op.execute(f"alter table {table} disable row level security")
    op.execute(f"""
        do $$
        begin
          execute (select string_agg(format('revoke all on %I from {BASE}, {ALL}', tablename),
                                     '; ')
                   from pg_tables where schemaname = 'public');
        end $$;
    """)
    op.execute("""
        drop trigger if exists audit_log_no_truncate on audit_log;
        drop trigger if exists audit_heads_no_truncate on audit_heads;
        create or replace function audit_log_append_only() returns trigger language plpgsql as $$
        begin
          if current_setting('boxoffice.audit_maintenance', true) = 'on' then
            return coalesce(new, old);
          end if;
          raise exception 'audit_log is append-only';
        end $$;
    """)
    # Back to the plain chain: re-link with bare SHA-256.
    op.execute("""
        do $$
        declare r record; prev bytea; cur_chain text := null;
        begin
          set local boxoffice.audit_maintenance = 'on';
          for r in select id, chain, seq, at_us, action, payload from audit_log
                   order by chain, seq loop
            if cur_chain is distinct from r.chain then
              prev := decode(repeat('00', 32), 'hex'); cur_chain := r.chain;
            end if;
            update audit_log set prev_hash = prev,
              hash = sha256(prev || convert_to('|' || r.seq || '|' || r.at_us || '|'
                                               || r.action || '|' || r.payload, 'UTF8'))
              where id = r.id returning hash into prev;
            update audit_heads set hash = prev where chain = r.chain and seq = r.seq;
          end loop;
        end $$;
        create or replace function audit_link(p_chain text, p_action text, p_payload text)
        returns bigint language plpgsql as $$
        declare h record; v_seq bigint; v_at bigint; v_hash bytea;
        begin
          select seq, hash into h from audit_heads where chain = p_chain for update;
          if not found then
            insert into audit_heads (chain, seq, hash)
            values (p_chain, 0, decode(repeat('00', 32), 'hex')) on conflict (chain) do nothing;
            select seq, hash into h from audit_heads where chain = p_chain for update;
          end if;
          v_seq := h.seq + 1;
          v_at := floor(extract(epoch from now()) * 1000000)::bigint;
          v_hash := sha256(h.hash || convert_to('|' || v_seq || '|' || v_at || '|' || p_action
                                               || '|' || p_payload, 'UTF8'));
          update audit_heads set seq = v_seq, hash = v_hash where chain = p_chain;
          insert into audit_log (chain, seq, at_us, action, payload, prev_hash, hash)
          values (p_chain, v_seq, v_at, p_action, p_payload, h.hash, v_hash);
          return v_seq;
        end $$;
        drop trigger if exists bo_guard on orders;
        drop trigger if exists bo_guard on tickets;
        drop function if exists bo_guard_status();
        drop function if exists bo_register_ticket_key(integer, text, bytea);
        drop function if exists bo_register_terminal(text, text);
        drop function if exists bo_record_approval(uuid, text, integer, integer, integer, text,
                                                   text, text, bigint, uuid);
        drop function if exists bo_authenticate(text, text);
        drop function if exists bo_reset_pin(integer, text);
        drop function if exists bo_add_operator(text, text, text, text);
        drop function if exists bo_set_operator(text, text, text, text);
        drop function if exists bo_pin_matches(text, text);
        drop function if exists bo_hash_pin(text);
        drop function if exists bo_pin_digest(bytea, text);
        drop function if exists bo_secret_pads(text);
        drop function if exists bo_hmac(bytea[], bytea);
        drop function if exists bo_hmac_pads(bytea);
        drop function if exists bo_acting_terminal(integer);
        drop function if exists bo_my_terminal();
        drop function if exists bo_is_owner();
        alter table ticket_keys drop column if exists revoked_at;
        alter table operators drop column if exists lockouts;
        drop table if exists bo_approval_proofs;
        drop table if exists bo_pin_probes;
        drop table if exists bo_secrets;
        drop table if exists terminal_logins;
    """)
    # The cluster-wide group roles stay: other databases on the server may use them.
