using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FixedShapeAttention.CompilerServices;

/// <summary>
/// A buffer one kernel call shares between its chunks (the hidden activations of a column-split feed-forward
/// network, written by one parallel phase and read by the next). It belongs to the calling thread, which waits in
/// the call until every chunk is done, so no other call can use it meanwhile; it grows to the largest request and is
/// then reused, so steady-state calls allocate nothing. Separate from <see cref="WorkerScratch"/>, which the calling
/// thread also uses while it runs chunks of its own.
/// </summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class CallScratch
{
    [ThreadStatic]
    private static float[]? t_buffer;

    /// <summary>A pinned span of exactly <paramref name="floats"/> floats, owned by the calling thread until its next call; contents unspecified.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="floats"/> is negative or above the largest array.</exception>
    public static Span<float> Get(int floats)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(floats);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(floats, Array.MaxLength);
        float[]? buffer = t_buffer;
        if (buffer is null || buffer.Length < floats)
        {
            buffer = GC.AllocateUninitializedArray<float>(floats, pinned: true);
            t_buffer = buffer;
        }

        return buffer.AsSpan(0, floats);
    }
}
