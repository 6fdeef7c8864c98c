using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FixedShapeAttention.CompilerServices;

/// <summary>
/// Per-thread scratch (packed Kᵀ, score rows, hidden activations). Each thread owns one pinned buffer that grows
/// to the largest request and is then reused, so steady-state calls allocate nothing. The usable part starts on
/// a 64-byte boundary and is followed by a cache line of slack, so two workers never share a line.
/// </summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class WorkerScratch
{
    private const int CacheLineFloats = 16;

    [ThreadStatic]
    private static float[]? t_buffer;

    [ThreadStatic]
    private static int t_offset;

    /// <summary>A span of at least <paramref name="floats"/> floats owned by the calling thread until its next call.
    /// Its contents are unspecified.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="floats"/> is negative or above the largest array.</exception>
    public static unsafe Span<float> Get(int floats)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(floats);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(floats, Array.MaxLength - 3 * CacheLineFloats);
        float[]? buffer = t_buffer;
        if (buffer is null || buffer.Length - t_offset - CacheLineFloats < floats)
        {
            buffer = GC.AllocateUninitializedArray<float>(floats + 3 * CacheLineFloats, pinned: true);
            nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
            t_offset = (int)(((64 - (address & 63)) & 63) / sizeof(float));
            t_buffer = buffer;
        }

        return buffer.AsSpan(t_offset, floats);
    }
}
