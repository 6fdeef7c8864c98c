namespace FixedShapeAttention.Kernels;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood), the seeding generator of the xoshiro family: a fixed algorithm, so a seed gives
/// the same stream on every machine and .NET version, which <see cref="System.Random"/> does not promise.
/// </summary>
internal struct SplitMix64(ulong seed)
{
    private ulong _state = seed;

    /// <summary>A uniform double in [0, 1) from the top 53 bits of the next output.</summary>
    public double NextUnit()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53));
    }
}
