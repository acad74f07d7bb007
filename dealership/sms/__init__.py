"""SMS through Alibaba Cloud and Tencent Cloud (issue 19.1).

`aliyun` and `tencent` are `SmsProvider` adapters for `dealership.notifications`
(their documented HTTP APIs, signed by hand: no SDK to install, and the endpoint is a
setting, so the tests run them against local fake servers). `inbound` takes the
providers' delivery receipts and the customers' replies (退订/TD unsubscribes);
`views` are the callback endpoints the providers post to.
"""
