/* SPDX-License-Identifier: MIT */
/*
 * For src/control.c while it moves into src/broker/: the broker's layers it
 * uses. New code includes the layer's own header from src/broker/.
 */
#ifndef RL_BROKER_H
#define RL_BROKER_H

#include "broker/control.h"
#include "broker/proxy.h"
#include "broker/recovery.h"
#include "broker/spawn.h"
#include "broker/state.h"

#endif /* RL_BROKER_H */
