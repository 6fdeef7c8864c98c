using System;
using System.Collections.Concurrent;
using System.Threading;
using FixedShapeAttention.Encoder;

namespace FixedShapeAttention.Models;

/// <summary>
/// What one forward pass writes: an encoder per bucket (each owns its activation buffers; the packed weights are
/// shared by every workspace), the embedded input, the last hidden state and the batch's token ids. Used by one call
/// at a time; <see cref="WorkspacePool"/> hands them out.
/// </summary>
internal sealed class EncoderWorkspace
{
    private readonly Func<int, ITransformerEncoder> _createEncoder;
    private readonly ITransformerEncoder?[] _encoders;

    public EncoderWorkspace(int bucketCount, Func<int, ITransformerEncoder> createEncoder)
    {
        _createEncoder = createEncoder;
        _encoders = new ITransformerEncoder?[bucketCount];
    }

    public float[] Embedded = [];
    public float[] Hidden = [];
    public long[] InputIds = [];
    public long[] TokenTypeIds = [];
    public int[] TokenCounts = [];
    public double[] PoolScratch = [];

    /// <summary>The encoder of bucket <paramref name="bucketIndex"/>, made on first use: most inputs never reach the long buckets.</summary>
    public ITransformerEncoder Encoder(int bucketIndex) => _encoders[bucketIndex] ??= _createEncoder(bucketIndex);

    public static T[] Grow<T>(ref T[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new T[length];
        }

        return buffer;
    }
}

/// <summary>
/// Workspaces for concurrent calls: a call takes a free one or makes a new one, so callers never wait for each
/// other; at most <c>retained</c> are kept afterwards.
/// </summary>
internal sealed class WorkspacePool
{
    private readonly ConcurrentBag<EncoderWorkspace> _free = new();
    private readonly Func<EncoderWorkspace> _create;
    private readonly int _retained;
    private int _freeCount;
    private int _created;

    public WorkspacePool(Func<EncoderWorkspace> create, int retained)
    {
        _create = create;
        _retained = retained;
    }

    /// <summary>Workspaces made so far: more than one means calls overlapped.</summary>
    public int Created => Volatile.Read(ref _created);

    public EncoderWorkspace Rent()
    {
        if (_free.TryTake(out EncoderWorkspace? workspace))
        {
            Interlocked.Decrement(ref _freeCount);
            return workspace;
        }

        Interlocked.Increment(ref _created);
        return _create();
    }

    public void Return(EncoderWorkspace workspace)
    {
        if (Interlocked.Increment(ref _freeCount) <= _retained)
        {
            _free.Add(workspace);
        }
        else
        {
            Interlocked.Decrement(ref _freeCount);
        }
    }
}
