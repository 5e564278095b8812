-- One tap as one PostgreSQL transaction: the per-tap work of the engine
-- (lock the card, update the balance, insert the ledger row and the
-- idempotency row), run by pgbench with synchronous_commit = on.
-- :cards is set by pg_baseline.sh; the idempotency key (reader, sequence)
-- is unique per client: reader = the pgbench client, sequence = a 62-bit
-- random draw (a collision would abort one transaction and show in pgbench's
-- failure count).
\set card random(1, :cards)
\set fare random(8, 65)
\set sequence random(1, 4611686018427387903)
BEGIN;
SELECT balance_minor FROM card WHERE id = :card FOR UPDATE;
UPDATE card SET balance_minor = balance_minor - :fare, taps = taps + 1 WHERE id = :card;
INSERT INTO ledger (card, debit_account, credit_account, amount_minor, reader, sequence, event_time)
  VALUES (:card, :card, 1000000000 + :client_id % 8, :fare, :client_id, :sequence, now());
INSERT INTO idempotency (reader, sequence, outcome) VALUES (:client_id, :sequence, 'approved');
END;
