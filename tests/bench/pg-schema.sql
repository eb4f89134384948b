-- pg-schema.sql: the PostgreSQL peer for tests/bench/run — what a user
-- might build instead of finsam: one table of events and one aggregate
-- table kept up to date by a trigger. The trigger is statement-level with
-- a transition table, so each COPY batch updates each touched cell once
-- (as finsam's group commit does), rather than once per row.
CREATE TABLE events (
    id          bytea PRIMARY KEY,     -- 16 bytes, time-prefixed like finsam's
    forbund     text NOT NULL,
    occurred_at timestamptz NOT NULL,
    kind        text NOT NULL,
    pseudonym   bytea,
    mode        int,
    phase       int,
    occupation  int,
    income      int,
    answers     jsonb,
    raw         bytea NOT NULL          -- the exact encoded event
);

CREATE TABLE cells (
    measure text NOT NULL,
    forbund text NOT NULL,
    period  text NOT NULL,
    slice   int NOT NULL,
    n       bigint NOT NULL,
    sum     bigint NOT NULL,
    sumsq   bigint NOT NULL,
    PRIMARY KEY (measure, forbund, period, slice)
);

CREATE FUNCTION cells_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO cells AS c (measure, forbund, period, slice, n, sum, sumsq)
    SELECT o.measure, e.forbund, p.period, s.slice, count(*), sum(o.v), sum(o.v * o.v)
      FROM new_rows e
     CROSS JOIN LATERAL (
            SELECT a.key AS measure, a.value::int AS v
              FROM jsonb_each_text(coalesce(e.answers, '{}'::jsonb)) a
            UNION ALL SELECT 'occupation_' || e.phase, e.occupation WHERE e.kind = 'status'
            UNION ALL SELECT 'income_' || e.phase, e.income WHERE e.kind = 'status') o
     CROSS JOIN LATERAL (VALUES
            (to_char(e.occurred_at AT TIME ZONE 'Europe/Stockholm', 'YYYY')),
            (to_char(e.occurred_at AT TIME ZONE 'Europe/Stockholm', 'YYYY-"Q"Q')),
            (to_char(e.occurred_at AT TIME ZONE 'Europe/Stockholm', 'YYYY-MM'))) p(period)
     CROSS JOIN LATERAL (SELECT 0 UNION SELECT e.mode WHERE e.mode IS NOT NULL) s(slice)
     GROUP BY 1, 2, 3, 4
    ON CONFLICT (measure, forbund, period, slice) DO UPDATE
       SET n = c.n + EXCLUDED.n, sum = c.sum + EXCLUDED.sum, sumsq = c.sumsq + EXCLUDED.sumsq;
    RETURN NULL;
END $$;

CREATE TRIGGER events_cells AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cells_add();
