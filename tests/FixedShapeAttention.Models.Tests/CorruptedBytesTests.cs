using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Google.Protobuf;
using Xunit;

namespace FixedShapeAttention.Models.Tests;

/// <summary>
/// Byte-level damage to a valid model: cut short, single bytes flipped, not a protobuf at all, nested without end,
/// longer than allowed. Every outcome is a load or an <see cref="InvalidDataException"/>, never another exception or a hang.
/// </summary>
public sealed class CorruptedBytesTests
{
    private static readonly byte[] Valid = new TinyBertModel().ToBytes();

    /// <summary>Every offset in the first 64 bytes (the model and graph headers), then ~150 spread over the rest, and the last.</summary>
    public static TheoryData<int> Offsets
    {
        get
        {
            var offsets = new SortedSet<int>(Enumerable.Range(0, 64));
            int step = Math.Max(1, (Valid.Length - 64) / 150);
            for (int offset = 64; offset < Valid.Length; offset += step)
                offsets.Add(offset);
            offsets.Add(Valid.Length - 1);
            return new TheoryData<int>(offsets);
        }
    }

    [Theory]
    [MemberData(nameof(Offsets))]
    public async Task Model_truncated_to_this_length_is_rejected(int length)
    {
        InvalidDataException error = await LoadAttempt.RejectsAsync(Valid[..length]);

        Assert.NotEmpty(error.Message);
    }

    /// <summary>
    /// A flipped byte inside a weight's raw_data is still a valid model (with one different weight), so a flip may load;
    /// anywhere else it must be caught. Either way: a complete, consistent load or an InvalidDataException.
    /// </summary>
    [Theory]
    [MemberData(nameof(Offsets))]
    public async Task Model_with_this_byte_flipped_loads_consistently_or_is_rejected(int offset)
    {
        byte[] damaged = (byte[])Valid.Clone();
        damaged[offset] ^= 0xFF;

        (BertWeights? weights, Exception? error) = await LoadAttempt.RunAsync(damaged);

        if (weights is not null)
            WeightAssert.LengthsMatchConfig(weights);
        else
            Assert.IsType<InvalidDataException>(error, exactMatch: true);
    }

    [Fact]
    public async Task Flipped_bytes_outside_the_weights_are_mostly_rejected()
    {
        // Sanity check of the two theories above: over the whole first 64 bytes (headers and names), flips are caught.
        int rejected = 0;
        for (int offset = 0; offset < 64; offset++)
        {
            byte[] damaged = (byte[])Valid.Clone();
            damaged[offset] ^= 0xFF;
            if ((await LoadAttempt.RunAsync(damaged)).Error is InvalidDataException)
                rejected++;
        }

        Assert.True(rejected >= 48, $"only {rejected} of 64 header flips were rejected");
    }

    [Fact]
    public async Task Empty_stream_is_rejected_as_having_no_ir_version()
    {
        InvalidDataException error = await LoadAttempt.RejectsAsync([]);

        Assert.Contains("ir_version", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Protobuf_parse_failure_is_wrapped_with_the_parser_exception_inside()
    {
        // Tag 0 is invalid in every protobuf message.
        InvalidDataException error = await LoadAttempt.RejectsAsync([0x00, 0x01, 0x02]);

        Assert.IsType<InvalidProtocolBufferException>(error.InnerException);
        Assert.StartsWith("not an ONNX model", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Text_file_is_rejected()
    {
        await LoadAttempt.RejectsAsync(System.Text.Encoding.UTF8.GetBytes("ir_version: 7\ngraph { name: \"not binary\" }\n"));
    }

    [Fact]
    public async Task Graph_field_declaring_2_GiB_over_a_few_bytes_is_rejected()
    {
        // ModelProto.graph (field 7, length-delimited) announcing 0x7FFFFFF0 bytes, followed by 4.
        byte[] bytes = [0x08, 0x07, 0x3A, 0xF0, 0xFF, 0xFF, 0xFF, 0x07, 1, 2, 3, 4];

        InvalidDataException error = await LoadAttempt.RejectsAsync(bytes);

        Assert.IsType<InvalidProtocolBufferException>(error.InnerException);
    }

    [Fact]
    public async Task Unknown_groups_nested_100000_deep_are_rejected_without_a_stack_overflow()
    {
        // Start-group tags of an unknown field 15 ((15 << 3) | 3), never closed: skipping them recurses.
        byte[] bytes = Enumerable.Repeat((byte)0x7B, 100_000).ToArray();

        InvalidDataException error = await LoadAttempt.RejectsAsync(bytes);

        Assert.IsType<InvalidProtocolBufferException>(error.InnerException);
    }

    [Fact]
    public void Stream_longer_than_the_limit_is_rejected()
    {
        var error = Assert.Throws<InvalidDataException>(() => OnnxBertLoader.Load(new MemoryStream(Valid), maxBytes: Valid.Length - 1));

        Assert.Contains($"{Valid.Length} bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Forward_only_stream_longer_than_the_limit_is_rejected()
    {
        Assert.Throws<InvalidDataException>(() => OnnxBertLoader.Load(new ForwardOnlyStream(Valid), maxBytes: Valid.Length - 1));
    }

    [Fact]
    public void Stream_exactly_at_the_limit_loads()
    {
        OnnxBertLoader.Load(new MemoryStream(Valid), maxBytes: Valid.Length);
        OnnxBertLoader.Load(new ForwardOnlyStream(Valid), maxBytes: Valid.Length);
    }
}
