using System;
using System.IO;

namespace FixedShapeAttention.Models.Loading;

/// <summary>
/// Reads a whole model stream into memory, refusing more than a limit. The protobuf parser needs the entire
/// message at once, and a model is read once, so the bytes are simply buffered; the limit keeps a hostile or
/// endless stream from growing the buffer without bound.
/// </summary>
internal static class ModelBytes
{
    private const int ChunkSize = 1 << 20;

    public static ArraySegment<byte> Read(Stream stream, long maxBytes)
    {
        if (!stream.CanRead)
            throw new ArgumentException("The model stream is not readable.", nameof(stream));

        if (stream.CanSeek)
        {
            // A seekable stream says how much is left: allocate exactly that once, after checking it.
            long remaining = Math.Max(0, stream.Length - stream.Position);
            if (remaining > maxBytes)
                throw TooLarge(maxBytes, $"{remaining} bytes remain");
            byte[] buffer = new byte[remaining];
            int filled = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            if (filled == buffer.Length && stream.ReadByte() >= 0)
                throw TooLarge(maxBytes, "it grew while being read");
            return new ArraySegment<byte>(buffer, 0, filled);
        }

        // Otherwise read in chunks; the buffer never holds more than what arrived, doubled at most.
        using MemoryStream copy = new();
        byte[] chunk = new byte[ChunkSize];
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (copy.Length + read > maxBytes)
                throw TooLarge(maxBytes, $"more than {copy.Length} bytes arrived");
            copy.Write(chunk, 0, read);
        }

        return new ArraySegment<byte>(copy.GetBuffer(), 0, (int)copy.Length);
    }

    private static InvalidDataException TooLarge(long maxBytes, string actual) =>
        new($"the model stream is longer than the {maxBytes} bytes a model may have (OnnxBertLoader.MaxModelBytes): {actual}.");
}
