#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpus of fuzz-ring (tests/fuzz/ring/fuzz-ring.c).

Usage: make-corpus.py [DIR]   (default: corpus/ beside this script)

Each file is a script for the bed of three domains that fuzz-ring.c
describes at its top: a step starts with a byte H (op = H & 7, domain
d = ((H >> 3) & 3) % 3 + 1, x = H >> 5), followed by the op's bytes. The
files start from valid traffic of every kind of Test method (null, add,
take, peek, make, sum_list, call_null, sum_vec, sum_ring, fill, neg, ...)
and from hostile cases (forged reply tags, double moves, objects of another
domain, stale handles, long flags on pads, impossible methods and
capabilities, deaths in the middle of calls, impossible ring tails).

Deterministic: the same files every run, no randomness, no clock. Method ids
are read from idl/testpair.idl (their order in `interface Test`), so the
corpus follows the IDL. Regenerate and commit the output when the script
language or the Test interface changes:
    python3 tests/fuzz/ring/make-corpus.py
"""
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
IDL = os.path.join(HERE, '..', '..', '..', 'idl', 'testpair.idl')


def test_methods():
    """Method ids of interface Test, in declaration order."""
    with open(IDL, encoding='utf-8') as f:
        text = f.read()
    body = re.search(r'interface\s+Test\s*\{(.*?)\n\}', text, re.S).group(1)
    names = re.findall(r'^\s*(?:\w+\s+)*fn\s+(\w+)\s*\(', body, re.M)
    return {name: i for i, name in enumerate(names)}


M = test_methods()

# Ops (fuzz-ring.c, enum op).
CALL, REPLY, RAW, SYS, WRITE, BATCH, DEATH, TAIL = range(8)
# Message kinds (include/redleaf/types.h) and service ops (channel.h).
K_CALL, K_INVOKE, K_REPLY, K_COMPLETE, K_SYS, K_SYS_DONE, K_PAD = range(1, 8)
SYS_REFILL, SYS_FREE, SYS_AUDIT, SYS_WAIT_ALIVE = 1, 2, 3, 4
F_BROKER, F_LONG = 0x01, 0x80

# The pool: PER_DOMAIN objects per domain, set up in this order.
PAY_A, PAY_B, N1, N2, N3, VEC, DEQ, N4, BIG, SPARE = range(10)
PER_DOMAIN = 10
FIRST_NEW = 3 * PER_DOMAIN  # the first object made or granted later


def obj(d, k):
    """Descriptor of domain d's k-th object."""
    return bytes([(d - 1) * PER_DOMAIN + k])


def pool(i):
    """Descriptor of pool entry i."""
    assert i < 0x80
    return bytes([i])


def lit(v):
    assert 0 <= v < 0x40
    return bytes([0x80 | v])


def cap(i):
    """Descriptor of the stepping domain's capability i."""
    return bytes([0xc0 | i])


def raw(v):
    return bytes([0xe0]) + struct.pack('<Q', v & (2**64 - 1))


# Specials (fuzz-ring.c, special_word()).
NULL_RREF = bytes([0xd0])
def STALE_NEXT(i): return bytes([0xd1, i])   # a generation not reached yet
def STALE_PREV(i): return bytes([0xd2, i])   # the generation before
PAST_REGISTRY = bytes([0xd3])
ALL_ONES = bytes([0xd4])
BIG_WORD = bytes([0xd5])
NEWEST = bytes([0xd6])
OTHERS_CAP = bytes([0xd7])
CAP_NEWER_GEN = bytes([0xd8])
CAP_NEVER = bytes([0xd9])
CAP_INVALID = bytes([0xda])
def GEN_ZERO(i): return bytes([0xdb, i])

# Bad capability bytes (fuzz-ring.c, bad_cap()).
BADCAP_INVALID, BADCAP_NEVER, BADCAP_NEWER, BADCAP_ZERO, BADCAP_OTHERS, BADCAP_UNUSED, BADCAP_PAST = (
    0x80 + i for i in range(7))


def h(op, d, x=0):
    return bytes([op | (d - 1) << 3 | x << 5])


def call(d, method, args=(), capb=0, kind=None, flip_long=False, reuse_tag=False, sys=False):
    """A CALL (or SYS) step; args: descriptors by position, None where absent."""
    x = (1 if flip_long else 0) | (2 if reuse_tag else 0) | (4 if kind is not None else 0)
    out = h(SYS if sys else CALL, d, x)
    if kind is not None:
        out += bytes([kind])
    out += bytes([method & 0xff])
    out += capb if isinstance(capb, bytes) else bytes([capb])
    mask = 0
    for i, a in enumerate(args):
        if a is not None:
            mask |= 1 << i
    out += bytes([mask])
    for a in args:
        if a is not None:
            out += a
    return out


def sys_(d, method, args=()):
    return call(d, method, args, sys=True)


# Reply modes (fuzz-ring.c, op_reply()).
T_OWN, T_FLIP, T_OTHER, T_OLDER, T_KEEP, T_RAW = range(6)
S_ZERO, S_NEG, S_POS, S_RAW = range(4)
R_CORRECT, R_POOL, R_RAW, R_STALE, R_NULL, R_ARG0, R_OTHERS_NEW, R_BIG = range(8)


def reply(d, sel=0, tag=T_OWN, status=S_ZERO, result=R_CORRECT, extra=b'', long=False):
    """d answers its pending INVOKE sel; extra: the bytes the modes read, in order."""
    return h(REPLY, d, 1 if long else 0) + bytes([sel, tag | status << 3 | result << 5]) + extra


def msg(kind, flags=0, method=0, capv=0, tag=0, status=0, aux=0, args=(0, 0, 0, 0, 0)):
    a = list(args) + [0] * (5 - len(args))
    return struct.pack('<BBHIQiI5Q', kind, flags, method, capv & 0xffffffff, tag, status, aux,
                       *[v & (2**64 - 1) for v in a])


def raw_msg(d, m):
    assert len(m) == 64
    return h(RAW, d) + m


def write(d, target, word, value):
    return h(WRITE, d) + target + bytes([word]) + value


def batch(*steps):
    assert 1 <= len(steps) <= 8
    return h(BATCH, 1, len(steps) - 1) + b''.join(steps)


def death(d):
    return h(DEATH, d, 7)


def idle():
    return h(DEATH, 1, 0)


def tail(d, t):
    return h(TAIL, d) + bytes([t])


CORPUS = {}


def case(name):
    def add(fn):
        CORPUS[name] = b''.join(fn())
        return fn
    return add


# ---- valid traffic: every way a value crosses ----

@case('valid-null')
def _():
    yield call(1, M['null'])          # d1 -> d2
    yield reply(2)
    yield call(2, M['null'])          # d2 -> d1
    yield reply(1)
    yield call(3, M['null'], capb=1)  # d3 -> d2
    yield reply(2)


@case('valid-add')
def _():
    yield call(1, M['add'], [lit(2), lit(3)])
    yield reply(2)
    yield call(3, M['add'], [raw(2**64 - 1), lit(1)])  # wraps: a callee's business
    yield reply(1)


@case('valid-take')
def _():
    yield call(1, M['take'], [obj(1, PAY_A)])   # d1's payload moves to d2
    yield reply(2)
    yield call(2, M['take'], [obj(1, PAY_A)])   # d2 owns it now: sends it on to d1
    yield reply(1)
    yield call(3, M['checksum'], [obj(3, SPARE)], capb=1)  # untyped, stamped on the way
    yield reply(2)
    yield call(1, M['take_big'], [obj(1, BIG)])
    yield reply(2)


@case('valid-peek')
def _():
    yield call(1, M['peek'], [obj(1, PAY_B)])   # lent to d2
    yield call(2, M['peek'], [obj(1, PAY_B)])   # d2 re-lends what it was lent, to d1
    yield reply(1)
    yield reply(2)
    yield call(1, M['take'], [obj(1, PAY_B)])   # the loans ended: it can move
    yield reply(2)


@case('valid-make')
def _():
    yield call(3, M['make'], [lit(7)])          # d3 -> d1
    yield reply(1)                              # a fresh payload of d1's: pool[30]
    yield call(3, M['take'], [pool(FIRST_NEW)], capb=1)  # d3 owns it: to d2
    yield reply(2)
    yield call(1, M['slow_make'], [lit(1), lit(9)])
    yield reply(2)


@case('valid-sum-list')
def _():
    yield call(1, M['sum_list'], [obj(1, N1)])  # n1 -> n2 -> n3 move together
    yield reply(2)
    yield call(2, M['sum_list'], [obj(1, N2)])  # the tail of the list, now d2's
    yield reply(1)
    yield call(3, M['sum_list'], [obj(3, N3)])  # a list of one
    yield reply(1)


@case('valid-call-null')
def _():
    yield call(3, M['call_null'], [cap(1)])     # d3 -> d1 with d3's handle to d2
    yield call(1, M['null'])                    # d1 calls the peer (its handle to d2)
    yield reply(2)
    yield reply(1)
    yield call(1, M['call_null'], [cap(0)])     # d2 gets a handle to itself
    yield call(2, M['null'], capb=1)            # and calls itself through it
    yield reply(2, sel=1)
    yield reply(2)


@case('valid-sum-vec')
def _():
    yield call(2, M['sum_vec'], [obj(2, VEC)])
    yield reply(1)
    yield write(1, obj(2, VEC), 0, raw(14 | 14 << 32))  # d1 owns it now: full
    yield call(1, M['sum_vec'], [obj(2, VEC)])
    yield reply(2)


@case('valid-sum-ring')
def _():
    yield call(3, M['sum_ring'], [obj(3, DEQ)], capb=1)  # the deque and the node in it
    yield reply(2)
    yield call(2, M['sum_ring'], [obj(3, DEQ)])
    yield reply(1)


@case('valid-fill')
def _():
    yield call(1, M['fill'], [obj(1, PAY_A), lit(0x2a)])  # a loan and a u8
    yield reply(2)
    yield call(2, M['fill'], [obj(2, SPARE), raw(255)])
    yield reply(1)


@case('valid-neg')
def _():
    yield call(2, M['neg'], [lit(5)])
    yield reply(1)
    yield call(3, M['neg'], [raw(0xffffffff)])
    yield reply(1)


@case('valid-sys')
def _():
    yield sys_(1, SYS_AUDIT)
    yield sys_(2, SYS_REFILL, [lit(0), lit(3)])       # pool[30..32], d2's
    yield sys_(2, SYS_FREE, [lit(2), pool(FIRST_NEW), pool(FIRST_NEW + 1)])
    yield sys_(3, SYS_WAIT_ALIVE, [cap(0)])
    yield sys_(1, SYS_REFILL, [lit(2), lit(1)])
    yield call(2, M['take'], [pool(FIRST_NEW + 2)])   # a granted slot, untyped
    yield reply(1)


@case('valid-batch')
def _():
    # One drained batch through the route cache: same cap and method, then others.
    yield batch(call(1, M['null']), call(1, M['null']), call(1, M['add'], [lit(1), lit(2)]),
                call(1, M['take'], [obj(1, PAY_A)]), call(1, M['neg'], [lit(3)]),
                call(1, M['neg'], [raw(1 << 40)]), call(1, 999 & 0xff), call(1, M['null']))
    yield batch(reply(2), reply(2), reply(2), reply(2), reply(2), reply(2))
    yield batch(call(3, M['call_null'], [cap(1)]), call(3, M['null'], capb=0),
                call(3, M['null'], capb=1))
    yield batch(reply(1), reply(1, sel=0), reply(2))


# ---- hostile traffic ----

@case('bad-forged-tags')
def _():
    yield call(1, M['take'], [obj(1, PAY_A)])
    yield call(2, M['null'])                                  # d1 has one pending too
    yield reply(2, tag=T_FLIP, extra=bytes([0]))              # low bit: another index
    yield reply(2, tag=T_FLIP, extra=bytes([40]))             # generation
    yield reply(2, tag=T_OLDER)
    yield reply(2, tag=T_OTHER)                               # d1's INVOKE, answered by d2
    yield reply(2, tag=T_RAW, extra=struct.pack('<Q', 7 << 32))
    yield reply(2, tag=T_RAW, extra=struct.pack('<Q', 2**64 - 1))
    yield reply(2, tag=T_KEEP, result=R_ARG0)                 # gives the payload back
    yield reply(2)                                            # the same tag again: nothing
    yield reply(1)
    yield reply(3)                                            # d3 serves nothing
    yield raw_msg(3, msg(K_REPLY, tag=1 << 32))


@case('bad-double-move')
def _():
    # Two moves of one object in one batch: the second finds it gone.
    yield batch(call(1, M['take'], [obj(1, PAY_A)]), call(1, M['take'], [obj(1, PAY_A)]),
                call(1, M['peek'], [obj(1, PAY_A)]))
    yield reply(2)
    # A cycle: n3 -> n1. The list is reachable twice.
    yield write(1, obj(1, N3), 1, obj(1, N1))
    yield call(1, M['sum_list'], [obj(1, N1)])
    yield write(1, obj(1, N2), 1, obj(1, N2))                 # n2 -> n2
    yield call(1, M['sum_list'], [obj(1, N2)])
    # Both deque elements name the same node.
    yield write(3, obj(3, DEQ), 2, obj(3, N4))
    yield write(3, obj(3, DEQ), 4, obj(3, N4))
    yield call(3, M['sum_ring'], [obj(3, DEQ)])
    # Lent and moved at once: a loan in flight, then a move of the same object.
    yield call(2, M['peek'], [obj(2, PAY_A)])
    yield call(2, M['take'], [obj(2, PAY_A)])
    yield call(2, M['sum_list'], [obj(2, N1)])
    yield reply(1)
    yield reply(1)
    yield write(1, obj(1, N3), 1, NULL_RREF)                  # the list mended
    yield write(1, obj(1, N2), 1, obj(1, N3))
    yield call(1, M['sum_list'], [obj(1, N1)])
    yield reply(2)


@case('bad-foreign-objects')
def _():
    yield call(1, M['take'], [obj(2, PAY_A)])                 # d2's payload
    yield call(3, M['peek'], [obj(1, PAY_B)])                 # d1's, not lent to d3
    yield write(1, obj(1, N3), 1, obj(2, N1))                 # d1's list runs into d2's
    yield call(1, M['sum_list'], [obj(1, N1)])
    yield write(1, obj(1, N3), 1, NULL_RREF)
    yield call(3, M['make'], [lit(1)])
    yield reply(1, result=R_POOL, extra=pool(PER_DOMAIN + PAY_A))  # returns d2's object
    yield call(3, M['make'], [lit(2)])
    yield reply(1, result=R_OTHERS_NEW)                       # an object of d2's, made now
    yield call(1, M['peek'], [obj(1, PAY_A)])
    yield reply(2, result=R_ARG0)                             # peek returns u64: a number
    yield call(1, M['peek'], [obj(1, PAY_B)], capb=0)
    yield call(3, M['make'], [lit(3)], capb=1)
    yield reply(2, sel=1, result=R_POOL, extra=pool(PAY_B))   # make returns what it was lent
    yield reply(2)
    yield call(2, M['take'], [obj(1, N1)])                    # d1's list, sent by d2
    yield call(1, M['sum_vec'], [obj(1, PAY_A)])              # stamped payload as a vec: wrong type
    yield call(2, M['take_big'], [obj(2, PAY_A)])             # 64 bytes for 1024: too small


@case('bad-stale-handles')
def _():
    yield call(1, M['take'], [STALE_NEXT(PAY_A)])
    yield call(1, M['take'], [STALE_PREV(PAY_A)])
    yield call(1, M['take'], [GEN_ZERO(PAY_A)])
    yield call(1, M['take'], [PAST_REGISTRY])
    yield call(1, M['take'], [NULL_RREF])
    yield call(1, M['peek'], [NULL_RREF])
    yield call(1, M['take'], [ALL_ONES])
    yield sys_(1, SYS_FREE, [lit(1), obj(1, PAY_B)])          # freed: its handle is stale
    yield call(1, M['take'], [obj(1, PAY_B)])
    yield call(1, M['peek'], [obj(1, PAY_B)])
    yield write(1, obj(1, N2), 1, STALE_NEXT(N3))             # a stale RRef inside the list
    yield call(1, M['sum_list'], [obj(1, N1)])
    yield call(2, M['make'], [lit(4)])
    yield reply(1, result=R_STALE, extra=pool(PAY_A))
    yield call(2, M['make'], [lit(5)])
    yield reply(1, result=R_NULL)
    yield sys_(2, SYS_FREE, [lit(60), obj(2, PAY_B), obj(1, PAY_A), obj(2, PAY_B), STALE_NEXT(0)])


@case('bad-long-pad')
def _():
    # A pad flagged long: its second unit is read as a message of its own.
    second = msg(K_CALL, method=M['null'], capv=0x10000, tag=0x77)[:32]
    pad = msg(K_PAD, flags=F_LONG)[:32] + second
    yield raw_msg(1, pad)
    yield reply(2)
    yield raw_msg(1, msg(K_PAD, flags=F_LONG))                # a long pad of zeros
    yield raw_msg(2, msg(K_PAD))
    yield call(1, M['add'], [lit(1), lit(2)], flip_long=True)  # args past the first cut off
    yield reply(2)
    yield call(1, M['null'], flip_long=True)                   # long for nothing
    yield reply(2)
    yield call(1, M['add'], [lit(4), None, None, None, lit(5)], flip_long=True)  # arg4 cut off
    yield reply(2)


@case('bad-ring-wrap')
def _():
    # Units never written (rejected), up to d1's last tx and rx units.
    for _ in range(63):
        yield tail(1, 0x07)
    yield tail(1, 0x06)
    yield call(3, M['add'], [lit(1), lit(2)])                 # a long INVOKE at d1's last rx unit
    yield reply(1)
    # A long CALL on d1's last tx unit, no pad: its second half is the ring's first unit.
    yield raw_msg(1, msg(K_CALL, flags=F_LONG, method=M['add'], capv=0x10000, tag=0x99, args=(3, 4)))
    yield reply(2)
    yield call(1, M['add'], [lit(5), lit(6)])
    yield reply(2)


@case('bad-methods-caps')
def _():
    yield call(1, 14)                                         # one past Test's methods
    yield call(1, 0xff)
    yield raw_msg(1, msg(K_CALL, method=0xffff, capv=0x10000, tag=5))
    for b in (BADCAP_INVALID, BADCAP_NEVER, BADCAP_NEWER, BADCAP_ZERO, BADCAP_OTHERS,
              BADCAP_UNUSED, BADCAP_PAST):
        yield call(1, M['null'], capb=b)
    yield call(1, M['null'], capb=bytes([0x87]) + struct.pack('<I', 0xffff0000))
    yield call(1, M['call_null'], [OTHERS_CAP])               # d2's value: names d1's own entry
    yield call(1, M['call_null'], [CAP_NEWER_GEN])
    yield call(1, M['call_null'], [CAP_NEVER])
    yield call(1, M['call_null'], [CAP_INVALID])
    yield call(1, M['call_null'], [raw(1 << 40)])
    for kind in (K_INVOKE, K_COMPLETE, K_SYS_DONE, 0, 200):
        yield call(1, M['null'], kind=kind)
    yield sys_(2, 99)
    yield sys_(2, SYS_REFILL, [lit(9), lit(1)])
    yield sys_(2, SYS_REFILL, [lit(0), raw(65)])
    yield sys_(2, SYS_FREE, [raw(65)])
    yield sys_(2, SYS_WAIT_ALIVE, [raw(1 << 40)])
    yield sys_(2, SYS_WAIT_ALIVE, [CAP_NEWER_GEN])
    yield raw_msg(3, msg(K_SYS, method=SYS_AUDIT, tag=9, flags=F_LONG, args=(1, 2, 3, 4, 5)))
    yield call(2, M['null'], reuse_tag=True)
    yield call(2, M['null'], reuse_tag=True)                  # the same tag twice in flight
    yield reply(1)
    yield reply(1)


@case('bad-death-mid-call')
def _():
    yield call(1, M['take'], [obj(1, PAY_A)])
    yield call(1, M['peek'], [obj(1, PAY_B)])                 # a loan in flight
    yield call(3, M['make'], [lit(1)], capb=1)
    yield call(3, M['sum_list'], [obj(3, N1)], capb=1)
    yield reply(2, sel=2)                                     # make answered
    yield death(2)                                            # the rest: -ECONNRESET
    yield call(1, M['null'])                                  # -EHOSTDOWN from now on
    yield call(3, M['null'], capb=1)
    yield call(1, M['take'], [obj(1, PAY_B)])                 # the loan ended with the death
    yield reply(2)                                            # the dead cannot answer
    yield call(2, M['null'])
    yield call(3, M['take'], [pool(FIRST_NEW)])               # made by d2, now d3's
    yield reply(1)
    yield death(1)                                            # only one death per input


@case('bad-death-caller')
def _():
    yield call(1, M['make'], [lit(1)])
    yield call(1, M['peek'], [obj(1, PAY_B)])
    yield call(1, M['take'], [obj(1, PAY_A)])
    yield death(1)                                            # d1's calls are orphaned
    yield reply(2)                                            # returned object freed
    yield reply(2, result=R_POOL, extra=pool(PAY_B))          # the orphan loan ends
    yield reply(2)
    yield call(2, M['null'])                                  # -EHOSTDOWN
    yield call(3, M['take'], [obj(1, N1)])                    # reclaimed: stale


@case('bad-death-last-words')
def _():
    yield call(3, M['make'], [lit(1)])                        # d3 -> d1
    yield call(2, M['peek'], [obj(2, PAY_B)])                 # d2 -> d1
    yield call(3, M['sum_ring'], [obj(3, DEQ)])
    # Replies published just before the death still count.
    yield batch(reply(1), reply(1, tag=T_FLIP, extra=bytes([3])), death(1))
    yield call(3, M['null'])
    yield call(2, M['take'], [obj(2, PAY_B)])


@case('bad-tails')
def _():
    yield call(1, M['null'])
    yield reply(2)
    yield tail(1, 0x03)                                       # 4 units never written this lap
    yield tail(2, 0x00)                                       # 1 unit never written
    yield call(1, M['add'], [lit(1), lit(1)])
    yield tail(1, 0x80)                                       # a ring and more ahead
    yield tail(1, 0xc5)                                       # behind the broker
    yield reply(2)
    yield batch(call(3, M['null']), tail(3, 0xff), call(3, M['null']))
    yield batch(call(3, M['take'], [obj(3, PAY_A)]), tail(3, 0x81))
    yield reply(1)
    yield reply(1)
    yield reply(1)
    yield tail(2, 0x01)                                       # 2 units never written
    yield call(2, M['null'])


@case('bad-scalars-status')
def _():
    yield call(2, M['neg'], [raw(1 << 40)])                   # out of i32
    yield call(2, M['fill'], [obj(2, PAY_A), raw(256)])       # out of u8
    yield call(2, M['slow_make'], [raw(1 << 32), lit(1)])     # out of u32
    yield call(2, M['neg'], [lit(1)])
    yield reply(1, result=R_BIG)                              # an i32 result out of range
    yield call(2, M['null'])
    yield reply(1, result=R_RAW, extra=struct.pack('<Q', 5))  # null() returns nothing
    yield call(2, M['add'], [lit(1), lit(2)])
    yield reply(1, status=S_POS, extra=bytes([0]))            # positive status
    yield call(2, M['add'], [lit(1), lit(2)])
    yield reply(1, status=S_RAW, extra=struct.pack('<i', -5000))
    yield call(2, M['add'], [lit(1), lit(2)])
    yield reply(1, status=S_NEG, extra=bytes([22]))           # the callee's own error
    yield call(2, M['make'], [lit(1)])
    yield reply(1, status=S_NEG, result=R_POOL, extra=bytes([5]) + pool(PAY_A))
    yield call(2, M['make'], [lit(1)])
    yield reply(1, result=R_RAW, extra=struct.pack('<Q', 2**64 - 1))


@case('bad-heap-writes')
def _():
    yield write(2, obj(2, VEC), 0, ALL_ONES)                  # len past the slot: clamped
    yield call(2, M['sum_vec'], [obj(2, VEC)])
    yield reply(1)
    yield write(3, obj(3, DEQ), 0, raw(5 | 3 << 32))          # tail before head
    yield call(3, M['sum_ring'], [obj(3, DEQ)])
    yield write(3, obj(3, DEQ), 0, raw(7 | 9 << 32))          # wraps around index 8
    yield write(3, obj(3, DEQ), 16, obj(3, N1))
    yield call(3, M['sum_ring'], [obj(3, DEQ)])
    yield write(1, obj(1, N1), 1, obj(1, DEQ))                # a deque where a node belongs
    yield call(1, M['sum_list'], [obj(1, N1)])
    yield write(1, obj(1, N1), 1, obj(1, BIG))                # untyped, big enough: a node
    yield write(1, obj(1, BIG), 1, NULL_RREF)
    yield call(1, M['sum_list'], [obj(1, N1)])
    yield reply(2)
    yield write(1, obj(1, N2), 1, GEN_ZERO(N3))
    yield call(1, M['sum_list'], [obj(1, N2)])


@case('bad-relend')
def _():
    yield call(1, M['peek'], [obj(1, PAY_B)])                 # d2 borrows it
    yield call(2, M['take'], [obj(1, PAY_B)])                 # and may not move it
    yield call(2, M['fill'], [obj(1, PAY_B), lit(1)])         # but may lend it on
    yield call(1, M['take'], [obj(1, PAY_B)])                 # lent: d1 may not move it either
    yield call(3, M['peek'], [obj(1, PAY_B)])                 # nor d3 lend it
    yield reply(1)
    yield reply(2)
    yield reply(2)                                            # nothing left: a reply to nothing
    yield call(2, M['peek'], [obj(1, PAY_B)])                 # the loan ended: not d2's
    yield call(1, M['fill'], [obj(1, PAY_B), lit(2)])
    yield call(1, M['peek'], [obj(1, PAY_B)])                 # two loans of one object
    yield reply(2, sel=1)
    yield reply(2)


@case('bad-raw-garbage')
def _():
    yield raw_msg(1, bytes(range(64)))
    yield raw_msg(2, bytes([0xff] * 64))
    yield raw_msg(3, msg(K_INVOKE, method=1, tag=3, args=(1, 2, 3, 4, 5), flags=F_LONG))
    yield raw_msg(1, msg(K_COMPLETE, flags=F_BROKER, tag=3))
    yield raw_msg(2, msg(K_CALL, flags=0x7f, capv=0x10000, method=M['add'], args=(1, 2, 3, 4, 5)))
    yield reply(1)
    yield raw_msg(1, msg(K_CALL, capv=0x10000, method=M['take'], args=(0x1_0000_0000,)))
    yield raw_msg(3, msg(K_SYS_DONE, tag=0))
    yield raw_msg(3, msg(K_SYS, method=SYS_REFILL, flags=F_LONG, args=(5, 64)))
    yield idle()


@case('mixed-all-domains')
def _():
    # Everyone calls everyone, out of order answers, objects moving around.
    yield batch(call(1, M['sum_list'], [obj(1, N1)]), call(2, M['peek'], [obj(2, PAY_A)]),
                call(3, M['make'], [lit(3)]), call(3, M['sum_vec'], [obj(3, VEC)], capb=1))
    yield reply(2, sel=1, result=R_CORRECT)
    yield reply(1, sel=1)
    yield call(1, M['take'], [pool(FIRST_NEW)])               # made for d3, not d1's
    yield reply(1)
    yield reply(2)
    yield call(2, M['sum_list'], [obj(1, N1)])                # d2 got the list: back to d1
    yield reply(1)
    yield call(3, M['take'], [pool(FIRST_NEW)], capb=1)
    yield reply(2)
    yield sys_(3, SYS_AUDIT)


@case('valid-rounds')
def _():
    # Rounds of calls and answers between every pair.
    for i in range(30):
        d, capb = 1 + i % 3, (i // 3) % 2
        callee = {1: 2, 2: 1}.get(d, 1 + capb)
        if i % 2:
            yield call(d, M['add'], [lit(i), lit(1)], capb=capb if d == 3 else 0)
        else:
            yield call(d, M['null'], capb=capb if d == 3 else 0)
        yield reply(callee)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, 'corpus')
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        if name.endswith('.bin') and name[:-4] not in CORPUS:
            os.remove(os.path.join(out, name))
    for name, data in sorted(CORPUS.items()):
        with open(os.path.join(out, name + '.bin'), 'wb') as f:
            f.write(data)
    print(f'{len(CORPUS)} files in {out}')


if __name__ == '__main__':
    main()
