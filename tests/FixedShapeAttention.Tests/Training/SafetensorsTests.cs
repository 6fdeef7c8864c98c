using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using FixedShapeAttention.Training;
using Xunit;

namespace FixedShapeAttention.Tests.Training;

public sealed class SafetensorsTests
{
    private static NamedTensor[] SampleTensors() =>
    [
        new NamedTensor("layers.0.w1", [3, 4], TestData.Uniform(12, 1)),
        new NamedTensor("bias", [5], [0f, -0f, float.Epsilon, float.MaxValue, BitConverter.Int32BitsToSingle(0x7FC01234)]),
        new NamedTensor("scalar", [], [42.5f]),
        new NamedTensor("empty", [0, 7], []),
    ];

    private static byte[] Save(IEnumerable<NamedTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var stream = new MemoryStream();
        Safetensors.Write(stream, tensors, metadata);
        return stream.ToArray();
    }

    [Fact]
    public void Round_trip_is_bit_exact_including_negative_zero_subnormals_and_NaN_payloads()
    {
        NamedTensor[] tensors = SampleTensors();
        byte[] bytes = Save(tensors, new Dictionary<string, string> { ["step"] = "7" });

        SafetensorsFile file = Safetensors.Read(new MemoryStream(bytes));

        Assert.Equal("7", file.Metadata["step"]);
        Assert.Equal(tensors.Length, file.Tensors.Count);
        foreach (NamedTensor expected in tensors)
        {
            NamedTensor actual = file[expected.Name];
            Assert.Equal(expected.Shape.ToArray(), actual.Shape.ToArray());
            Assert.Equal(expected.Data.Select(BitConverter.SingleToInt32Bits), actual.Data.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void Equal_checkpoints_give_equal_bytes_whatever_the_order_of_the_tensors()
    {
        NamedTensor[] tensors = SampleTensors();
        Assert.Equal(Save(tensors), Save(tensors.Reverse()));
    }

    [Fact]
    public void The_layout_is_the_format_s_header_length_json_and_aligned_little_endian_data()
    {
        byte[] bytes = Save([new NamedTensor("w", [2], [1f, -2f])]);

        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, (8 + headerLength) % 8);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)headerLength).TrimEnd(' ');
        Assert.Equal("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", header);
        Assert.Equal(1f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(8 + (int)headerLength)));
        Assert.Equal(-2f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(12 + (int)headerLength)));
        Assert.Equal(8 + (int)headerLength + 8, bytes.Length);
    }

    [Fact]
    public void A_file_written_by_another_writer_with_F16_and_BF16_tensors_reads_exactly()
    {
        // Written by hand as the reference implementation lays it out: tensors in any order within the data section.
        byte[] data = new byte[4 + 4 + 4];
        BinaryPrimitives.WriteHalfLittleEndian(data.AsSpan(0), (Half)1.5f);
        BinaryPrimitives.WriteHalfLittleEndian(data.AsSpan(2), (Half)(-0.25f));
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4), 3.25f);
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(8), (ushort)(BitConverter.SingleToInt32Bits(-6.5f) >> 16));
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(10), (ushort)(BitConverter.SingleToInt32Bits(1e-3f) >> 16));
        byte[] bytes = File(
            """{"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},"__metadata__":{"format":"pt"},"h":{"dtype":"F16","shape":[2,1],"data_offsets":[0,4]},"f":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""",
            data);

        SafetensorsFile file = Safetensors.Read(new MemoryStream(bytes));

        Assert.Equal(["b", "h", "f"], file.Tensors.Select(t => t.Name));
        Assert.Equal([1.5f, -0.25f], file["h"].Data);
        Assert.Equal([2, 1], file["h"].Shape.ToArray());
        Assert.Equal([3.25f], file["f"].Data);
        Assert.Equal([-6.5f, BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(1e-3f) & unchecked((int)0xFFFF0000))], file["b"].Data);
        Assert.Equal("pt", file.Metadata["format"]);
    }

    [Fact]
    public void Every_truncation_of_a_valid_file_is_InvalidDataException_from_seekable_and_forward_only_streams()
    {
        byte[] bytes = Save(SampleTensors(), new Dictionary<string, string> { ["step"] = "1" });
        for (int length = 0; length < bytes.Length; length++)
        {
            byte[] prefix = bytes[..length];
            Assert.Throws<InvalidDataException>(() => Safetensors.Read(new MemoryStream(prefix)));
            Assert.Throws<InvalidDataException>(() => Safetensors.Read(new ForwardOnlyStream(prefix)));
        }
    }

    [Fact]
    public void A_forward_only_stream_reads_the_same_tensors()
    {
        byte[] bytes = Save(SampleTensors());
        SafetensorsFile seekable = Safetensors.Read(new MemoryStream(bytes));
        SafetensorsFile forward = Safetensors.Read(new ForwardOnlyStream(bytes));
        Assert.Equal(seekable.Tensors.Select(t => t.Name), forward.Tensors.Select(t => t.Name));
        foreach (NamedTensor tensor in seekable.Tensors)
            Assert.Equal(tensor.Data.Select(BitConverter.SingleToInt32Bits), forward[tensor.Name].Data.Select(BitConverter.SingleToInt32Bits));
    }

    [Theory]
    [InlineData("[]", "not an object")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", "not valid JSON")]
    [InlineData("{\"w\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", "dtype 'I64'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", "needs 12")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", "non-negative")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", "begin ≤ end")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", "data_offsets")]
    [InlineData("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", "dtype")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "twice")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "inside the previous tensor")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", "hole")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "follow the last tensor")]
    [InlineData("{\"__metadata__\":{\"step\":3}}", "not a string")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[65536,65536],\"data_offsets\":[0,8]}}", "more elements")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} x", "not valid JSON")]
    public void A_hostile_header_is_InvalidDataException_naming_the_problem(string header, string expected)
    {
        byte[] bytes = File(header, new byte[8]);
        var error = Assert.Throws<InvalidDataException>(() => Safetensors.Read(new MemoryStream(bytes)));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ulong.MaxValue)]
    [InlineData(1UL << 40)]
    [InlineData(Safetensors.MaxHeaderBytes + 1UL)]
    [InlineData(4096UL)]
    public void A_header_length_the_stream_does_not_back_allocates_nothing_large(ulong claimed)
    {
        byte[] bytes = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, claimed);
        foreach (Func<Stream> open in new Func<Stream>[] { () => new MemoryStream(bytes), () => new ForwardOnlyStream(bytes) })
        {
            Stream stream = open();
            long before = GC.GetAllocatedBytesForCurrentThread();
            Assert.Throws<InvalidDataException>(() => Safetensors.Read(stream));
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4 << 20, "a claimed length allocated more than 4 MiB");
        }
    }

    [Fact]
    public void Tensors_that_claim_more_than_the_forward_only_stream_holds_allocate_only_what_arrives()
    {
        // 1 GiB claimed by a valid header, 16 bytes of data present.
        byte[] bytes = File("{\"w\":{\"dtype\":\"F32\",\"shape\":[268435456],\"data_offsets\":[0,1073741824]}}", new byte[16]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<InvalidDataException>(() => Safetensors.Read(new ForwardOnlyStream(bytes)));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 8 << 20, "a claimed tensor allocated more than 8 MiB");
        Assert.Throws<InvalidDataException>(() => Safetensors.Read(new MemoryStream(bytes)));
    }

    [Fact]
    public void A_file_larger_than_the_limit_is_refused()
    {
        byte[] bytes = Save([new NamedTensor("w", [1024], new float[1024])]);
        Assert.Throws<InvalidDataException>(() => Safetensors.Read(new MemoryStream(bytes), maxBytes: 1024));
        Assert.Equal(1024, Safetensors.Read(new MemoryStream(bytes), maxBytes: bytes.Length).Tensors[0].Data.Length);
    }

    [Fact]
    public void Writing_rejects_duplicate_and_reserved_names_before_writing_anything()
    {
        var stream = new MemoryStream();
        Assert.Throws<ArgumentException>(() => Safetensors.Write(stream, [new NamedTensor("a", [1], [1f]), new NamedTensor("a", [1], [2f])]));
        Assert.Throws<ArgumentException>(() => Safetensors.Write(stream, [new NamedTensor("__metadata__", [1], [1f])]));
        Assert.Throws<ArgumentNullException>(() => Safetensors.Write(stream, [null!]));
        Assert.Equal(0, stream.Length);
    }

    [Fact]
    public void A_tensor_whose_data_does_not_match_its_shape_cannot_be_made()
    {
        var error = Assert.Throws<ArgumentException>(() => new NamedTensor("w", [2, 3], new float[5]));
        Assert.Contains("expected 6", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new NamedTensor("w", [-1], []));
        Assert.Throws<ArgumentException>(() => new NamedTensor("", [1], [1f]));
        Assert.Throws<ArgumentNullException>(() => new NamedTensor("w", [1], null!));
    }

    [Fact]
    public void Writing_a_file_replaces_it_whole_and_reads_back()
    {
        string path = Path.Combine(Path.GetTempPath(), $"fsa-{Guid.NewGuid():N}.safetensors");
        try
        {
            Safetensors.Write(path, SampleTensors());
            Safetensors.Write(path, [new NamedTensor("only", [1], [9f])]);
            SafetensorsFile file = Safetensors.Read(path);
            Assert.Equal(["only"], file.Tensors.Select(t => t.Name));
            Assert.False(System.IO.File.Exists(path + ".partial"));
            Assert.Throws<KeyNotFoundException>(() => file["missing"]);
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }

    private static byte[] File(string header, byte[] data)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        byte[] bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        return bytes;
    }

    /// <summary>A stream that cannot seek and hands out at most 7 bytes per read, as a network stream may.</summary>
    private sealed class ForwardOnlyStream(byte[] bytes) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = Math.Min(Math.Min(count, 7), bytes.Length - _position);
            Array.Copy(bytes, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
