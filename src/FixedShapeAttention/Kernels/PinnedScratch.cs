using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FixedShapeAttention.Kernels;

/// <summary>
/// Grow-once pinned buffers held in a caller's own [ThreadStatic] fields, for kernels that keep more than one buffer
/// per thread or hand one to the chunks of other threads through a pointer (<see cref="CompilerServices.WorkerScratch"/>
/// and <see cref="CompilerServices.CallScratch"/> hold one buffer each).
/// </summary>
internal static unsafe class PinnedScratch
{
    /// <summary>The start of at least <paramref name="floats"/> pinned floats in <paramref name="buffer"/>, grown when too
    /// small and kept for the thread's next calls; contents unspecified.</summary>
    public static float* Get(ref float[]? buffer, int floats)
    {
        if (buffer is null || buffer.Length < floats)
            buffer = GC.AllocateArray<float>(Math.Max(floats, 4096), pinned: true);
        return (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
    }
}
