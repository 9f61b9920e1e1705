/**
 * Watches the WebGPU device behind tfjs: a lost device (driver reset, GPU process crash, tab
 * backgrounded too long on some systems) makes every later tensor op fail, so the studio must
 * stop and say so instead of failing one request after another.
 */
import * as tf from '@tensorflow/tfjs';

export function watchDeviceLoss(onLost: (message: string) => void): void {
  const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
  if (!device?.lost) return;
  void device.lost.then((info) => {
    // 'destroyed' is our own doing (tfjs disposing the backend), not a failure.
    if (info.reason !== 'destroyed') onLost(info.message || 'unknown reason');
  });
}
