"""Keep inserting into a table while a switchover runs; record every committed id.

Runs inside the publisher container as the postgres OS user (Unix socket, peer
authentication); python3 and psycopg2 come with the image. Several connections
insert one row per transaction (autocommit, so every INSERT is its own commit), at
--rate commits per second all together (0: as fast as the server takes them). When a session is ended (pg_terminate_backend by the
switchover) the connection reconnects; a write refused because the server became
read-only is counted and retried a little later. It stops by itself: after
--seconds, or once its sessions have been ended at least once and every attempt
has been refused for --stop-after-refused seconds (the switchover made the
publisher read-only, ended the sessions, and the old publisher stays read-only).

Output: the committed ids, one a line, in --ids (written at the end), and one JSON
line on stdout: committed, refused, reconnects, unknown (a commit whose outcome is
unknown because the session ended while it ran: not counted as committed), the
time of the first and the last commit (time.time(), the container's clock), rate.
"""

import argparse
import json
import threading
import time

import psycopg2
import psycopg2.sql

READ_ONLY = '25006'  # read_only_sql_transaction


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--dbname', required=True)
    parser.add_argument('--table', required=True, help='schema.table, with an identity id and a text name')
    parser.add_argument('--ids', required=True, help='file for the committed ids')
    parser.add_argument('--connections', type=int, default=4)
    parser.add_argument('--rate', type=float, default=0.0, help='commits per second to aim at, all connections together (0: as fast as possible)')
    parser.add_argument('--seconds', type=float, default=120.0)
    parser.add_argument('--stop-after-refused', type=float, default=3.0)
    args = parser.parse_args()

    schema, table = args.table.split('.', 1)
    start = time.time()
    deadline = start + args.seconds
    lock = threading.Lock()
    state = {'ids': [], 'first': None, 'last': None, 'refused': 0, 'reconnects': 0, 'unknown': 0,
             'last_refused_streak_start': None, 'errors': []}
    stop = threading.Event()

    def connect():
        while not stop.is_set() and time.time() < deadline:
            try:
                conn = psycopg2.connect(dbname=args.dbname, application_name='molecule-writer', connect_timeout=5)
                conn.autocommit = True
                return conn
            except psycopg2.OperationalError as exc:
                with lock:
                    state['errors'].append('connect: %s' % str(exc).strip())
                time.sleep(0.05)
        return None

    def work(worker):
        sql = psycopg2.sql.SQL('INSERT INTO {}.{} (name) VALUES (%s) RETURNING id').format(
            psycopg2.sql.Identifier(schema), psycopg2.sql.Identifier(table))
        conn = connect()
        n = 0
        # Each connection aims at its share of --rate: attempt n is not sent before t0 + n * interval.
        interval = args.connections / args.rate if args.rate > 0 else 0.0
        t0 = time.time()
        while conn is not None and not stop.is_set() and time.time() < deadline:
            n += 1
            if interval:
                ahead = t0 + n * interval - time.time()
                if ahead > 0:
                    time.sleep(ahead)
            try:
                with conn.cursor() as cur:
                    cur.execute(sql, ('writer %d/%d' % (worker, n),))
                    new_id = cur.fetchone()[0]
                now = time.time()
                with lock:
                    state['ids'].append(new_id)
                    state['first'] = state['first'] or now
                    state['last'] = now
                    state['last_refused_streak_start'] = None
            except psycopg2.Error as exc:
                if getattr(exc, 'pgcode', None) == READ_ONLY:
                    now = time.time()
                    with lock:
                        state['refused'] += 1
                        streak = state['last_refused_streak_start'] = state['last_refused_streak_start'] or now
                        if now - streak >= args.stop_after_refused and state['reconnects'] > 0:
                            stop.set()
                    time.sleep(0.02)
                    continue
                # The session was ended (or broke) while the INSERT ran: its outcome is unknown.
                with lock:
                    state['unknown'] += 1
                    state['reconnects'] += 1
                    if len(state['errors']) < 20:
                        state['errors'].append('%s: %s' % (type(exc).__name__, str(exc).strip()))
                try:
                    conn.close()
                except psycopg2.Error:
                    pass
                conn = connect()
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(args.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    ids = sorted(state['ids'])
    with open(args.ids, 'w') as out:
        out.write(''.join('%d\n' % i for i in ids))
    span = (state['last'] - state['first']) if state['first'] and state['last'] else 0.0
    print(json.dumps({
        'committed': len(ids),
        'distinct': len(set(ids)),
        'refused': state['refused'],
        'reconnects': state['reconnects'],
        'unknown': state['unknown'],
        'first_commit': state['first'],
        'last_commit': state['last'],
        'started': start,
        'ended': time.time(),
        'stopped_by': 'refused' if stop.is_set() else 'time',
        'rate': round(len(ids) / span, 1) if span > 0 else 0.0,
        'errors': state['errors'][:20],
    }))


if __name__ == '__main__':
    main()
