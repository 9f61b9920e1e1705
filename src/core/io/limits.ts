/**
 * The bounds every number read from a file header must respect before anything is allocated
 * from it (docs/model-format.md and docs/shard-format.md list them). They are far above what
 * this studio trains (28x28 MNIST, 10 classes, 16..64 channels, N <= 8 slots) and far below
 * what would exhaust a browser tab, so a header can never make parsing cost more memory than
 * the file it came in.
 */
export const LIMITS = {
  /** Real classes of a model, shard or evaluator (the null class is one more). */
  classes: 1000,
  /** Height, width and UNet/classifier image size, in pixels. */
  imageSize: 256,
  /** Channels of one sample (data.channels, unet.inChannels, classifier inChannels). */
  dataChannels: 16,
  /** UNet baseChannels and classifier stage channels. */
  baseChannels: 1024,
  /** Each channelMults entry. */
  channelMult: 16,
  /** UNet resolution levels (channelMults.length) and classifier stages. */
  levels: 8,
  /** UNet res blocks per level. */
  resBlocksPerLevel: 8,
  /** GroupNorm groups. */
  groups: 1024,
  /** Classifier feature width. */
  featureDim: 4096,
  /** Diffusion training steps T (the schedule allocates arrays of this length). */
  trainSteps: 100_000,
  /** Coarse slots N of a shard or a checkpoint's geometry. */
  slots: 1000,
  /** Teacher DDIM steps per coarse slot. */
  fineStepsPerSlot: 100_000,
  /** Trajectories in one shard, samples in one sample set. */
  trajectories: 10_000_000,
  /** |guidance scale|. */
  guidanceScale: 1000,
  /** LoRA rank. */
  loraRank: 1024,
  /** Trajectories per RAPM iteration, discriminator steps per iteration. */
  batchSize: 1024,
  discSteps: 1024,
  /** Iterations of discriminator inputs replayed (about 1.2 MB of features each at batch 1 on MNIST). */
  discReplay: 256,
  /** Training iterations and Adam steps recorded in a checkpoint. */
  iterations: 1_000_000_000,
} as const;

export type LimitName = keyof typeof LIMITS;
