"""The original learning-rate schedule of both training phases."""

from im2txt import tf_compat  # noqa: F401  pylint: disable=unused-import
import tensorflow.compat.v1 as tf

from im2txt import configuration
from im2txt.training import builder


class LearningRateTest(tf.test.TestCase):

  def testPhase1HalvesEvery8EpochsStaircase(self):
    # decay_steps = int(586363 / 32 * 8) = 146590.
    with tf.Graph().as_default():
      step = tf.placeholder(tf.int32, [])
      lr, decay_fn = builder.learning_rate_for(configuration.TrainingConfig(),
                                             32, train_inception=False)
      rate = decay_fn(lr, step)
      with self.session() as sess:
        got = [sess.run(rate, {step: s}) for s in
               (0, 146589, 146590, 293180, 879539, 879540, 1000000)]
    self.assertAllClose(got, [2.0, 2.0, 1.0, 0.5, 0.0625, 0.03125, 0.03125])

  def testPhase2IsConstant(self):
    with tf.Graph().as_default():
      lr, decay_fn = builder.learning_rate_for(configuration.TrainingConfig(),
                                             32, train_inception=True)
      self.assertIsNone(decay_fn)
      with self.session() as sess:
        self.assertAllClose(sess.run(lr), 0.0005)

  def testNoDecayWhenFactorIsZero(self):
    config = configuration.TrainingConfig()
    config.learning_rate_decay_factor = 0.0
    with tf.Graph().as_default():
      _, decay_fn = builder.learning_rate_for(config,
                                               32,
                                               train_inception=False)
      self.assertIsNone(decay_fn)


if __name__ == "__main__":
  tf.test.main()
