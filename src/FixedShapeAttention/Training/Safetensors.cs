using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace FixedShapeAttention.Training;

/// <summary>
/// Reads and writes checkpoints in the safetensors format, the one PyTorch users exchange weights in: an 8-byte
/// little-endian header length N, N bytes of JSON (<c>{"name": {"dtype", "shape", "data_offsets": [begin, end]}, …,
/// "__metadata__": {string: string}}</c>), then the tensors' raw little-endian bytes, offsets relative to the end of
/// the header. Writing produces float32 (<c>F32</c>) tensors; reading also accepts <c>F16</c> and <c>BF16</c>, which
/// widen to float exactly.
/// </summary>
/// <remarks>
/// A file is read as untrusted: every length is checked against the format's limits and against what the stream
/// holds before anything is allocated for it, the tensors must cover the data section exactly (no hole, no overlap,
/// no trailing bytes, as the reference implementation requires), and any violation is an
/// <see cref="InvalidDataException"/> naming what is wrong. A stream that cannot seek is read in bounded chunks, so a
/// header that claims gigabytes allocates only what actually arrives.
/// </remarks>
public static class Safetensors
{
    /// <summary>The largest JSON header accepted, the reference implementation's limit (100 MB).</summary>
    public const int MaxHeaderBytes = 100_000_000;

    /// <summary>The default limit on a whole file read from a stream: 8 GiB.</summary>
    public const long DefaultMaxBytes = 8L << 30;

    private const string MetadataKey = "__metadata__";
    private const int ChunkBytes = 1 << 20;

    /// <summary>Writes <paramref name="tensors"/> as float32, in ordinal order of their names, so that equal
    /// checkpoints give equal bytes.</summary>
    /// <exception cref="ArgumentException">Two tensors share a name, or a name is <c>__metadata__</c>.</exception>
    public static void Write(Stream stream, IEnumerable<NamedTensor> tensors) => Write(stream, tensors, null);

    /// <inheritdoc cref="Write(Stream, IEnumerable{NamedTensor})"/>
    /// <param name="metadata">String pairs stored in the header's <c>__metadata__</c> (for example the step).</param>
    public static void Write(Stream stream, IEnumerable<NamedTensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(stream);
        NamedTensor[] ordered = Ordered(tensors);
        byte[] header = Header(ordered, metadata);
        WriteOrdered(stream, ordered, header);
    }

    private static void WriteOrdered(Stream stream, NamedTensor[] ordered, byte[] header)
    {
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        foreach (NamedTensor tensor in ordered)
        {
            if (BitConverter.IsLittleEndian)
            {
                stream.Write(MemoryMarshal.AsBytes(tensor.Data.AsSpan()));
            }
            else
            {
                byte[] bytes = new byte[tensor.Data.Length * sizeof(float)];
                for (int i = 0; i < tensor.Data.Length; i++)
                    BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), tensor.Data[i]);
                stream.Write(bytes);
            }
        }
    }

    /// <summary>Writes a checkpoint file; the file is written beside the target and moved over it when complete, so an
    /// interrupted write never leaves a truncated checkpoint under <paramref name="path"/>.</summary>
    public static void Write(string path, IEnumerable<NamedTensor> tensors) => Write(path, tensors, null);

    /// <inheritdoc cref="Write(string, IEnumerable{NamedTensor})"/>
    /// <param name="metadata">String pairs stored in the header's <c>__metadata__</c> (for example the step).</param>
    public static void Write(string path, IEnumerable<NamedTensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // Everything that can be rejected is checked before a file is created.
        NamedTensor[] ordered = Ordered(tensors);
        byte[] header = Header(ordered, metadata);
        string partial = path + ".partial";
        using (FileStream file = new(partial, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            WriteOrdered(file, ordered, header);
        }

        File.Move(partial, path, overwrite: true);
    }

    /// <summary>Reads a checkpoint file.</summary>
    /// <exception cref="InvalidDataException">The file is not a well-formed safetensors file.</exception>
    public static SafetensorsFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using FileStream file = new(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return Read(file);
    }

    /// <summary>Reads a checkpoint from the stream's current position to its end.</summary>
    /// <param name="maxBytes">The most bytes the checkpoint may have, header included.</param>
    /// <exception cref="InvalidDataException">The stream does not hold a well-formed safetensors file, or it is longer
    /// than <paramref name="maxBytes"/>.</exception>
    public static SafetensorsFile Read(Stream stream, long maxBytes = DefaultMaxBytes)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        if (!stream.CanRead)
            throw new ArgumentException("stream: the stream is not readable.", nameof(stream));

        long? available = stream.CanSeek ? Math.Max(0, stream.Length - stream.Position) : null;
        Span<byte> lengthBytes = stackalloc byte[8];
        if (stream.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) < 8)
            throw Invalid("the stream ends inside the 8-byte header length.");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > MaxHeaderBytes)
            throw Invalid($"the header claims {headerLength} bytes, more than the format's limit of {MaxHeaderBytes}.");
        if (available is long total && (long)headerLength > total - 8)
            throw Invalid($"the header claims {headerLength} bytes, but only {total - 8} follow its length.");

        byte[] header = ReadBounded(stream, (int)headerLength, available is not null, "the header");
        List<Entry> entries = ParseHeader(header, out Dictionary<string, string> metadata);

        long dataBytes = CheckLayout(entries);
        long fileBytes = 8 + (long)headerLength + dataBytes;
        if (fileBytes > maxBytes)
            throw Invalid($"the tensors need {fileBytes} bytes in all, more than the limit of {maxBytes}.");
        if (available is long have && have != fileBytes)
            throw Invalid(have < fileBytes
                ? $"the file is truncated: the tensors need {fileBytes} bytes, the stream holds {have}."
                : $"{have - fileBytes} bytes follow the last tensor; the tensors must cover the data exactly.");

        var tensors = new NamedTensor[entries.Count];
        foreach (Entry entry in entries)
            tensors[entry.Order] = new NamedTensor(entry.Name, entry.Shape, ReadTensor(stream, entry, available is not null));

        if (available is null && stream.ReadByte() >= 0)
            throw Invalid("bytes follow the last tensor; the tensors must cover the data exactly.");
        return new SafetensorsFile(tensors, metadata);
    }

    /// <summary>The tensors in ordinal order of their names, after checking them.</summary>
    private static NamedTensor[] Ordered(IEnumerable<NamedTensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        NamedTensor[] ordered = tensors.ToArray();
        foreach (NamedTensor? tensor in ordered)
            ArgumentNullException.ThrowIfNull(tensor, nameof(tensors));
        Array.Sort(ordered, (a, b) => string.CompareOrdinal(a.Name, b.Name));
        for (int i = 0; i < ordered.Length; i++)
        {
            if (ordered[i].Name == MetadataKey)
                throw new ArgumentException($"tensors: the name '{MetadataKey}' is reserved for the header's metadata.", nameof(tensors));
            if (i > 0 && ordered[i].Name == ordered[i - 1].Name)
                throw new ArgumentException($"tensors: the name '{ordered[i].Name}' occurs twice; names must be unique.", nameof(tensors));
        }

        return ordered;
    }

    private sealed record Entry(string Name, int Order, string DType, int[] Shape, long Begin, long End, long Elements);

    private static byte[] Header(NamedTensor[] tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (KeyValuePair<string, string> pair in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    ArgumentNullException.ThrowIfNull(pair.Value, nameof(metadata));
                    json.WriteString(pair.Key, pair.Value);
                }

                json.WriteEndObject();
            }

            long offset = 0;
            foreach (NamedTensor tensor in tensors)
            {
                long end = offset + (long)tensor.Data.Length * sizeof(float);
                json.WriteStartObject(tensor.Name);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (int dimension in tensor.Shape)
                    json.WriteNumberValue(dimension);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(end);
                json.WriteEndArray();
                json.WriteEndObject();
                offset = end;
            }

            json.WriteEndObject();
        }

        // Spaces pad the header so that the data starts 8-byte aligned, as the reference writer does.
        int padded = (buffer.WrittenCount + 7) / 8 * 8;
        byte[] header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }

    private static List<Entry> ParseHeader(byte[] header, out Dictionary<string, string> metadata)
    {
        metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var entries = new List<Entry>();
        try
        {
            using JsonDocument document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw Invalid($"the header is a JSON {document.RootElement.ValueKind}, not an object.");

            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (JsonProperty property in document.RootElement.EnumerateObject())
            {
                if (!names.Add(property.Name))
                    throw Invalid($"the header names '{property.Name}' twice.");
                if (property.Name == MetadataKey)
                    ReadMetadata(property.Value, metadata);
                else
                    entries.Add(ReadEntry(property.Name, entries.Count, property.Value));
            }
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"safetensors: the header is not valid JSON: {e.Message}", e);
        }

        return entries;
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Invalid($"'{MetadataKey}' is a JSON {value.ValueKind}, not an object of strings.");
        foreach (JsonProperty pair in value.EnumerateObject())
        {
            if (pair.Value.ValueKind != JsonValueKind.String)
                throw Invalid($"metadata '{pair.Name}' is a JSON {pair.Value.ValueKind}, not a string.");
            if (!metadata.TryAdd(pair.Name, pair.Value.GetString()!))
                throw Invalid($"metadata names '{pair.Name}' twice.");
        }
    }

    private static Entry ReadEntry(string name, int order, JsonElement value)
    {
        if (name.Length == 0)
            throw Invalid("a tensor has an empty name.");
        if (value.ValueKind != JsonValueKind.Object)
            throw Invalid($"tensor '{name}' is a JSON {value.ValueKind}, not an object.");
        if (!value.TryGetProperty("dtype", out JsonElement dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw Invalid($"tensor '{name}' has no string 'dtype'.");
        string dtype = dtypeElement.GetString()!;
        if (ElementBytes(dtype) == 0)
            throw Invalid($"tensor '{name}' has dtype '{dtype}'; this library reads F32, F16 and BF16.");

        if (!value.TryGetProperty("shape", out JsonElement shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw Invalid($"tensor '{name}' has no 'shape' array.");
        var shape = new int[shapeElement.GetArrayLength()];
        long elements = 1;
        int i = 0;
        foreach (JsonElement dimension in shapeElement.EnumerateArray())
        {
            if (dimension.ValueKind != JsonValueKind.Number || !dimension.TryGetInt32(out int size) || size < 0)
                throw Invalid($"tensor '{name}' has shape entry {dimension.GetRawText()}, not a non-negative 32-bit integer.");
            shape[i++] = size;
            elements = size == 0 || elements == 0 ? 0 : elements > Array.MaxLength / size ? long.MaxValue : elements * size;
        }

        if (elements > Array.MaxLength)
            throw Invalid($"tensor '{name}' has shape [{string.Join(", ", shape)}], more elements than one array holds ({Array.MaxLength}).");

        if (!value.TryGetProperty("data_offsets", out JsonElement offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
            throw Invalid($"tensor '{name}' has no 'data_offsets' pair.");
        if (!offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw Invalid($"tensor '{name}' has data_offsets {offsets.GetRawText()}, not 0 ≤ begin ≤ end.");
        if (end - begin != elements * ElementBytes(dtype))
            throw Invalid($"tensor '{name}' spans {end - begin} bytes, but shape [{string.Join(", ", shape)}] of {dtype} needs {elements * ElementBytes(dtype)}.");

        return new Entry(name, order, dtype, shape, begin, end, elements);
    }

    /// <summary>Checks that the tensors tile the data section from 0 without hole or overlap; returns its length.</summary>
    private static long CheckLayout(List<Entry> entries)
    {
        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long expected = 0;
        foreach (Entry entry in entries)
        {
            if (entry.Begin != expected)
                throw Invalid(entry.Begin < expected
                    ? $"tensor '{entry.Name}' starts at byte {entry.Begin}, inside the previous tensor, which ends at {expected}."
                    : $"tensor '{entry.Name}' starts at byte {entry.Begin}, leaving a hole after byte {expected}.");
            expected = entry.End;
        }

        return expected;
    }

    private static int ElementBytes(string dtype) => dtype switch
    {
        "F32" => 4,
        "F16" or "BF16" => 2,
        _ => 0,
    };

    private static float[] ReadTensor(Stream stream, Entry entry, bool lengthChecked)
    {
        if (entry.DType == "F32" && BitConverter.IsLittleEndian && lengthChecked)
        {
            // The stream was measured to hold every byte, so the array is allocated at once and filled in place.
            var values = new float[entry.Elements];
            if (stream.ReadAtLeast(MemoryMarshal.AsBytes(values.AsSpan()), values.Length * sizeof(float), throwOnEndOfStream: false) < values.Length * sizeof(float))
                throw Invalid($"the stream ended inside tensor '{entry.Name}'.");
            return values;
        }

        // Otherwise the bytes come first, so that a tensor the stream does not back allocates only what arrived.
        byte[] bytes = ReadBounded(stream, checked((int)(entry.End - entry.Begin)), lengthChecked, $"tensor '{entry.Name}'");
        var converted = new float[entry.Elements];
        switch (entry.DType)
        {
            case "F32":
                for (int i = 0; i < converted.Length; i++)
                    converted[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4));
                break;
            case "F16":
                for (int i = 0; i < converted.Length; i++)
                    converted[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes.AsSpan(i * 2));
                break;
            default:
                // bfloat16 is the upper half of a float32's bits.
                for (int i = 0; i < converted.Length; i++)
                    converted[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(i * 2)) << 16);
                break;
        }

        return converted;
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes. Unless the stream's length vouches for them, they are
    /// read in chunks into a growing buffer, so a count that the stream does not back allocates only what arrives.</summary>
    private static byte[] ReadBounded(Stream stream, int count, bool lengthChecked, string what)
    {
        if (lengthChecked)
        {
            byte[] exact = new byte[count];
            if (stream.ReadAtLeast(exact, count, throwOnEndOfStream: false) < count)
                throw Invalid($"the stream ended inside {what}.");
            return exact;
        }

        using var copy = new MemoryStream();
        byte[] chunk = new byte[Math.Min(count, ChunkBytes)];
        int remaining = count;
        while (remaining > 0)
        {
            int read = stream.Read(chunk, 0, Math.Min(remaining, chunk.Length));
            if (read == 0)
                throw Invalid($"the stream ended inside {what}: {count - remaining} of {count} bytes arrived.");
            copy.Write(chunk, 0, read);
            remaining -= read;
        }

        return copy.ToArray();
    }

    private static InvalidDataException Invalid(string message) => new($"safetensors: {message}");
}
