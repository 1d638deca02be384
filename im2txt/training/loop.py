# Copyright 2026 The im2txt Authors. All Rights Reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
# ==============================================================================
"""The training loop of one process, alone or in a cluster.

tf.train.Supervisor does the work, as in tf-slim's ``learning.train``
(which this loop follows: the same log line per step, the same checkpoint
and summary threads, a final checkpoint by the chief); it differs where a
cluster needs it:

* a worker that is not the chief waits for the chief to initialise the
  model, polling every `recovery_wait_secs` for at most `startup_wait_secs`
  (slim polls every 30 s, forever);
* a lost server (a parameter server killed, its machine gone) ends the run
  with TrainingInterrupted instead of slim's endless retry, so the process
  exits and a restart resumes from the chief's last checkpoint;
* with a SyncReplicasOptimizer, the chief releases the tokens of workers
  still waiting for one when it stops, so they stop too instead of hanging;
* each worker reports to the parameter servers when it is done
  (cluster.done_token_ops), so that they exit;
* SIGTERM (a preemptible machine or a scheduler ending the job) and SIGINT
  (Ctrl-C) end the loop after the current step, and the chief saves a
  checkpoint at that step before the run returns normally; a second signal
  stops at once;
* the first checkpoint save that fails (a full disk) stops the run after
  the current step with guarded_saver.CheckpointSaveError, its partial
  files removed and the last complete checkpoint still the latest;
* by default the chief computes the summaries in the training step that
  they describe (its first step, one every `save_summaries_secs`, and its
  last step) instead of the Supervisor's summary thread: that thread runs
  the summary op as a step of its own beside the training steps, which
  reads a batch that is never trained on and, with the gradient-norm
  summaries, holds a second forward and backward pass in memory at the
  same time (phase 2 at batch 32: 1.9 GB of the process's peak).
  `summaries_in_step=False` keeps the thread (the original's process).
"""

import contextlib
import os
import re
import signal
import threading
import time

import tensorflow.compat.v1 as tf

from im2txt.common import checkpoints
from im2txt.common import file_io
from im2txt.training import guarded_saver

# Errors of a lost connection to another task of the cluster.
CONNECTION_ERRORS = (tf.errors.UnavailableError, tf.errors.AbortedError,
                     tf.errors.CancelledError)


# How long threads get to stop at the end. The sync optimizer's chief thread
# can stay blocked on a gradient accumulator of a parameter server; it is
# left behind (closing the session cancels its op) instead of being waited
# for, as slim's trainer does, for two minutes.
STOP_GRACE_SECS = 5


class TrainingInterrupted(RuntimeError):
  """The run lost a server of its cluster, or the chief never came."""


class _StopSignals(object):
  """Turns SIGTERM and SIGINT into a request to stop after the current step
  (main thread only; elsewhere signals keep their handlers)."""

  SIGNALS = (signal.SIGTERM, signal.SIGINT)

  def __init__(self):
    self.received = None
    self._previous = {}

  def _handle(self, signum, unused_frame):
    if self.received is not None:
      raise KeyboardInterrupt("second %s" % signal.Signals(signum).name)
    self.received = signal.Signals(signum).name
    tf.logging.warning("%s received: stopping after this step (a checkpoint "
                       "is saved at it); send it again to stop at once.",
                       self.received)

  @contextlib.contextmanager
  def installed(self):
    if threading.current_thread() is not threading.main_thread():
      yield self
      return
    for signum in self.SIGNALS:
      self._previous[signum] = signal.signal(signum, self._handle)
    try:
      yield self
    finally:
      for signum, handler in self._previous.items():
        signal.signal(signum, handler)


def remove_temporary_checkpoint_files(train_dir):
  """Deletes what an interrupted save left in train_dir (TensorFlow writes
  a checkpoint's files as *.tempstate* first and renames them when
  complete); returns their paths."""
  leftovers = file_io.glob(file_io.join(train_dir, "*.tempstate*"))
  guarded_saver.remove_paths(leftovers)
  return leftovers


def _recover_checkpoint_list(saver, train_dir):
  """Gives a resumed run's Saver the checkpoints earlier runs listed.

  A new Saver knows only its own saves, so without this the `checkpoint`
  index of a resumed run forgets the earlier runs' checkpoints (the
  evaluator, which follows the index, never sees them) and rotation never
  deletes them. With it, the index and max_to_keep behave as in one long
  run. Relative entries (a copied train_dir) are taken in train_dir.
  """
  paths = checkpoints.listed(train_dir)
  if paths:
    saver.recover_last_checkpoints(paths)


def run(built, train_dir, number_of_steps, log_every_n_steps=1,
        init_fn=None, save_summaries_secs=600, save_interval_secs=600,
        master="", is_chief=True, session_config=None, done_ops=(),
        startup_wait_secs=7200, recovery_wait_secs=1, on_ready=None,
        summaries_in_step=True):
  """Trains until the global step reaches `number_of_steps`.

  Args:
    built: The training.TrainingGraph.
    train_dir: The chief's checkpoint and summary directory.
    number_of_steps: Absolute global step at which to stop.
    log_every_n_steps: Log loss and global step every n global steps.
    init_fn: Run by the chief after initialisation when no checkpoint is
      restored (the Inception restore at step 0).
    save_summaries_secs, save_interval_secs: The chief's summary and
      checkpoint intervals.
    master: The session target ("" in one process).
    is_chief: Whether this process initialises, restores and saves.
    session_config: A tf.ConfigProto.
    done_ops: Ops to run when the loop has finished.
    startup_wait_secs: How long a non-chief waits for the model.
    recovery_wait_secs: Its polling interval.
    on_ready: Optional function the chief calls once its session is
      initialised or restored, before the first step.
    summaries_in_step: Whether the chief fetches the summary op with the
      training step (else the Supervisor's summary thread runs it alone).

  Returns:
    (steps run by this process, last loss, last global step).

  Raises:
    TrainingInterrupted: On a lost server or a chief that never came.
    guarded_saver.CheckpointSaveError: When a checkpoint save failed.
  """
  graph = built.graph
  sync = built.sync_optimizer
  global_step = built.model.global_step
  with graph.as_default():
    local_init_op = tf.group(tf.local_variables_initializer(),
                             tf.tables_initializer())
    ready_for_local_init_op = tf.train.Supervisor.USE_DEFAULT
    chief_queue_runners, init_tokens_op, release_tokens_op = [], None, None
    if sync is not None:
      with tf.control_dependencies([local_init_op]):
        local_init_op = (sync.chief_init_op if is_chief
                         else sync.local_step_init_op)
      ready_for_local_init_op = sync.ready_for_local_init_op
      if is_chief:
        chief_queue_runners = [sync.get_chief_queue_runner()]
        init_tokens_op = sync.get_init_tokens_op()
        # One token per worker: wakes those blocked on the token queue when
        # the chief stops.
        release_tokens_op = sync.get_init_tokens_op(
            num_tokens=built.sync.total_num_replicas)
  if is_chief:
    _recover_checkpoint_list(built.saver, train_dir)
    leftovers = remove_temporary_checkpoint_files(train_dir)
    if leftovers:
      tf.logging.warning(
          "Removed %d temporary checkpoint files of an interrupted save "
          "(e.g. %s).", len(leftovers), os.path.basename(leftovers[0]))
  with graph.as_default():
    saver = guarded_saver.GuardedSaver(built.saver, train_dir, global_step,
                                       tf.global_variables())
  supervisor = tf.train.Supervisor(
      graph=graph,
      is_chief=is_chief,
      logdir=train_dir if is_chief else None,
      local_init_op=local_init_op,
      ready_for_local_init_op=ready_for_local_init_op,
      summary_op=None if summaries_in_step else built.summary_op,
      saver=saver,
      global_step=global_step,
      save_summaries_secs=save_summaries_secs,
      save_model_secs=save_interval_secs,
      init_fn=init_fn,
      recovery_wait_secs=recovery_wait_secs,
      stop_grace_secs=STOP_GRACE_SECS)
  saver.on_failure(supervisor.request_stop)
  summaries = None
  if summaries_in_step and is_chief and built.summary_op is not None:
    summaries = _StepSummaries(supervisor, built.summary_op,
                               save_summaries_secs)
  try:
    return _loop(supervisor, built, global_step, number_of_steps,
                 log_every_n_steps, master, is_chief, session_config,
                 done_ops, startup_wait_secs, chief_queue_runners,
                 init_tokens_op, release_tokens_op, on_ready, summaries)
  except tf.errors.DeadlineExceededError as e:
    raise TrainingInterrupted(
        "The model was not ready after %d s: this worker waits for the chief "
        "to initialise or restore it. Is the chief (worker 0, or the chief "
        "task of TF_CONFIG) running? (%s)" % (startup_wait_secs,
                                              _cause(e)))
  except CONNECTION_ERRORS as e:
    raise TrainingInterrupted(describe_lost_server(e, train_dir))


def describe_lost_server(error, train_dir):
  """The message for a connection error of a cluster's session."""
  return ("Lost a server of the cluster: %s. Restart the cluster's processes "
          "with the same commands: the chief resumes from its last checkpoint "
          "in %s." % (_cause(error), train_dir))


def _cause(error):
  """The task and the cause of a cluster error, from TensorFlow's long
  message (e.g. "/job:ps/task:0: ... Connection refused")."""
  text = str(getattr(error, "message", error))
  task = re.search(r"/job:\w+/replica:\d+/task:\d+", text)
  detail = next(
      (line.strip() for line in text.splitlines()
       if re.search(r"connect|socket|closed|unavailable|reset|abort|cancel",
                    line, re.I) and not line.startswith("Graph execution")),
      type(error).__name__)
  where = task.group(0).replace("/replica:0", "") + ": " if task else ""
  return where + detail[:300]


class _StepSummaries(object):
  """The summaries fetched with a training step: that of the first step,
  then that of the first step after every `interval_secs`, and that of the
  last step (none if `interval_secs` is 0), written with the global step
  read in the same run."""

  def __init__(self, supervisor, summary_op, interval_secs):
    self._supervisor = supervisor
    self._summary_op = summary_op
    self._interval_secs = interval_secs
    self._last = None

  def fetch(self, last_step):
    """The summary op when this step's summary is due, else None."""
    if self._interval_secs <= 0:
      return None
    if (self._last is not None and not last_step and
        time.time() - self._last < self._interval_secs):
      return None
    return self._summary_op

  def write(self, sess, summary, step):
    self._last = time.time()
    self._supervisor.summary_computed(sess, summary, global_step=step)


def _loop(supervisor, built, global_step, number_of_steps, log_every_n_steps,
          master, is_chief, session_config, done_ops, startup_wait_secs,
          chief_queue_runners, init_tokens_op, release_tokens_op,
          on_ready=None, summaries=None):
  """The session and the steps (see run)."""
  sess = supervisor.prepare_or_wait_for_session(
      master, config=session_config, start_standard_services=False,
      max_wait_secs=startup_wait_secs)
  if is_chief and on_ready is not None:
    on_ready()
  steps, loss, step = 0, None, 0
  signals = _StopSignals()
  try:
    tf.logging.info("Starting Session.")
    if is_chief:
      supervisor.start_standard_services(sess)
    supervisor.start_queue_runners(sess)
    tf.logging.info("Starting Queues.")
    if chief_queue_runners:
      supervisor.start_queue_runners(sess, chief_queue_runners)
      sess.run(init_tokens_op)
    step = sess.run(global_step)
    with signals.installed():
      while (step < number_of_steps and not supervisor.should_stop() and
             signals.received is None):
        start = time.time()
        summary_op = (summaries.fetch(step + 1 >= number_of_steps)
                      if summaries is not None else None)
        if summary_op is None:
          loss, step = sess.run([built.train_op, global_step])
        else:
          loss, step, summary = sess.run(
              [built.train_op, global_step, summary_op])
          summaries.write(sess, summary, step)
        steps += 1
        if log_every_n_steps > 0 and step % log_every_n_steps == 0:
          tf.logging.info("global step %d: loss = %.4f (%.3f sec/step)",
                          step, loss, time.time() - start)
    if signals.received is not None:
      tf.logging.warning("Stopped by %s at global step %d.", signals.received,
                         step)
    tf.logging.info("Stopping Training: global step %d, %d step(s) run by "
                    "this process.", step, steps)
    if release_tokens_op is not None:
      sess.run(release_tokens_op)
    if is_chief and supervisor.saver.failure is None:
      tf.logging.info("Finished training! Saving model to disk.")
      supervisor.saver.save(sess, supervisor.save_path,
                            global_step=global_step)
  except tf.errors.OutOfRangeError as e:
    # A failed save's stop closes the input queues under the current step.
    if supervisor.saver.failure is None:
      tf.logging.info("Input exhausted, stopping training: %s", e)
  except BaseException:
    supervisor.request_stop()
    supervisor.stop(close_summary_writer=True, ignore_live_threads=True)
    _close(sess, master)
    raise
  # The threads stop (closing their queues, some on the parameter servers)
  # before this worker tells the parameter servers it is done.
  supervisor.request_stop()
  supervisor.stop(close_summary_writer=True, ignore_live_threads=True)
  for op in done_ops:
    sess.run(op)
  _close(sess, master)
  supervisor.saver.check()
  return steps, loss, step


def _close(sess, master, timeout_secs=STOP_GRACE_SECS):
  """Closes the session. In a cluster (a `master` target), gives up after
  `timeout_secs`: closing a session of a cluster whose parameter server is
  gone (lost, or exited once every worker was done) waits for it forever.
  In one process it waits for the close however long it takes (a loaded
  machine): a session left open while the interpreter exits aborts it."""
  if not master:
    sess.close()
    return
  closer = threading.Thread(target=sess.close, daemon=True)
  closer.start()
  closer.join(timeout_secs)
  if closer.is_alive():
    tf.logging.warning("The session did not close within %d s (a server of "
                       "the cluster is gone); leaving it.", timeout_secs)
