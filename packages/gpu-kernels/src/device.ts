/**
 * The adapter and device: probing (what the platform offers, for runtime selection) and acquiring (only the
 * features and limits the adapter has; a lost device becomes a clear error on the next call).
 */
import { fail } from "@mamba2/core";

/** What a WebGPU adapter offers, or why there is none. */
export interface WebGpuProbe {
  readonly available: boolean;
  readonly reason?: string;
  readonly adapter?: { vendor: string; architecture: string; device: string; description: string };
  readonly features: string[];
  readonly limits: Record<string, number>;
}

/** The optional features the kernels use, as granted to the device. */
export interface GpuFeatures {
  readonly subgroups: boolean;
  /** The adapter's smallest subgroup size (32 where it does not say). */
  readonly subgroupMinSize: number;
  readonly shaderF16: boolean;
  readonly timestampQuery: boolean;
}

const LIMITS = [
  "maxStorageBufferBindingSize", "maxBufferSize", "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup", "maxComputeWorkgroupsPerDimension", "maxStorageBuffersPerShaderStage",
] as const;

function defaultGpu(): GPU | undefined {
  return typeof navigator !== "undefined" ? (navigator as Navigator & { gpu?: GPU }).gpu : undefined;
}

async function requestAdapter(gpu: GPU | undefined, powerPreference: GPUPowerPreference): Promise<GPUAdapter | string> {
  if (!gpu) return "WebGPU is not available here (no navigator.gpu; in Node pass `gpu` from @mamba2/gpu-kernels/node)";
  const adapter = await gpu.requestAdapter({ powerPreference }).catch((e: unknown) => `requestAdapter failed: ${String(e)}`);
  return adapter ?? "no WebGPU adapter (no GPU, or the browser blocks WebGPU; in Chromium try --enable-unsafe-webgpu)";
}

/** Reports what WebGPU offers here without creating a device. */
export async function probeWebGpu(gpu: GPU | undefined = defaultGpu(), powerPreference: GPUPowerPreference = "high-performance"): Promise<WebGpuProbe> {
  const adapter = await requestAdapter(gpu, powerPreference);
  if (typeof adapter === "string") return { available: false, reason: adapter, features: [], limits: {} };
  const info = adapter.info;
  return {
    available: true,
    adapter: { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description },
    features: [...adapter.features].sort(),
    limits: Object.fromEntries(LIMITS.map((k) => [k, adapter.limits[k]])),
  };
}

export interface DeviceOptions {
  /** The WebGPU entry point (default `navigator.gpu`). */
  gpu?: GPU;
  adapter?: GPUAdapter;
  /** An existing device: the kernels use only what it was created with. */
  device?: GPUDevice;
  powerPreference?: GPUPowerPreference;
  /** Use subgroup operations where the adapter has them (default true); false forces the workgroup-memory path. */
  subgroups?: boolean;
}

export interface AcquiredDevice {
  readonly device: GPUDevice;
  readonly features: GpuFeatures;
  readonly description: string;
  /** Why the device was lost, once it is. */
  lost: string | null;
}

export async function acquireDevice(options: DeviceOptions): Promise<AcquiredDevice> {
  let device = options.device;
  let description = "a given device";
  let info: GPUAdapterInfo | undefined;
  if (!device) {
    const adapter = options.adapter ?? (await requestAdapter(options.gpu ?? defaultGpu(), options.powerPreference ?? "high-performance"));
    if (typeof adapter === "string") fail(adapter);
    const wanted = (["subgroups", "shader-f16", "timestamp-query"] as const).filter((f) => adapter.features.has(f));
    const requiredLimits = Object.fromEntries(LIMITS.map((k) => [k, adapter.limits[k]]));
    device = await adapter.requestDevice({ requiredFeatures: wanted, requiredLimits }).catch((e: unknown) => fail(`WebGPU requestDevice failed: ${String(e)}`));
    const i = (info = adapter.info);
    description = [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(" ") || "unknown adapter";
  }
  const acquired: AcquiredDevice = {
    device,
    description,
    features: {
      subgroups: device.features.has("subgroups") && options.subgroups !== false,
      subgroupMinSize: (info ?? device.adapterInfo)?.subgroupMinSize ?? 32,
      shaderF16: device.features.has("shader-f16"),
      timestampQuery: device.features.has("timestamp-query"),
    },
    lost: null,
  };
  void device.lost.then((info) => {
    acquired.lost = `the WebGPU device was lost (${info.reason}): ${info.message || "no message"}`;
  });
  return acquired;
}
